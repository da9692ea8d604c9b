"""``/v1/numbers/{msisdn}/reputation``: what the risk database knows of any number."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Path
from pydantic import BaseModel, Field

from mvnoguard.api.deps import PrincipalDep, RuntimeDep, SessionDep
from mvnoguard.api.schemas import AUTHENTICATED_ERRORS
from mvnoguard.domain.calendar import utc_now
from mvnoguard.domain.risk import RiskCategory, RiskLevel, RiskStatus
from mvnoguard.linkage import risk_numbers

router = APIRouter(prefix="/numbers", tags=["numbers"], responses=AUTHENTICATED_ERRORS)


class ReputationOut(BaseModel):
    msisdn: str = Field(examples=["+8617012345678"])
    risk_level: RiskLevel
    categories: list[RiskCategory]
    status: RiskStatus | None = None
    reports: int
    complaints: int
    score: float | None = None
    updated_at: datetime | None = None


@router.get("/{msisdn}/reputation", response_model=ReputationOut)
def number_reputation(
    session: SessionDep,
    runtime: RuntimeDep,
    principal: PrincipalDep,
    msisdn: str = Path(max_length=32, examples=["+8617012345678"]),
) -> dict[str, Any]:
    """Risk level, categories and counts of a number; every role may ask."""
    answer = risk_numbers.reputation(
        session, principal, msisdn, now=utc_now(), policy=runtime.policy
    )
    return answer.to_json()
