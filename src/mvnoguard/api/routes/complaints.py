"""``/v1/complaints``: a complaint about a number, sent in by an enterprise or the regulator.

The reporter's number is sealed by the vault on the way in and never comes back out.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Request, Response, status
from pydantic import BaseModel, ConfigDict, Field, field_validator
from sqlalchemy.orm import Session

from mvnoguard.api.deps import AuthenticatedRoute, PrincipalDep, RuntimeDep, in_transaction
from mvnoguard.api.schemas import AUTHENTICATED_ERRORS
from mvnoguard.domain.calendar import utc_now
from mvnoguard.domain.risk import ComplaintCategory
from mvnoguard.linkage import complaints

router = APIRouter(
    prefix="/complaints",
    tags=["complaints"],
    responses=AUTHENTICATED_ERRORS,
    route_class=AuthenticatedRoute,
)


class ComplaintBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reported_number: str = Field(max_length=32, examples=["+8613912340001"])
    reporter_number: str | None = Field(default=None, max_length=32)
    category: ComplaintCategory = Field(examples=["fraud"])
    received_at: datetime | None = Field(
        default=None, description="ISO 8601 with its zone. Default: now."
    )
    text: str | None = Field(default=None, max_length=4_000)

    @field_validator("received_at", mode="before")
    @classmethod
    def _written_as_a_time(cls, value: object) -> object:
        # Pydantic reads 1700000000 (or "1700000000") as Unix seconds: not a time people write.
        text = str(value) if isinstance(value, int | float | str) else ""
        if text.strip().lstrip("+-").replace(".", "", 1).isdigit():
            raise ValueError("write the time as ISO 8601, e.g. 2016-05-01T10:00:00+08:00")
        return value


class ComplaintOut(BaseModel):
    complaint_id: int
    reported_number: str
    category: ComplaintCategory
    received_at: datetime
    duplicate: bool


@router.post(
    "",
    response_model=ComplaintOut,
    status_code=status.HTTP_201_CREATED,
    responses={200: {"model": ComplaintOut, "description": "Already stored: nothing added."}},
)
async def submit_complaint(
    body: ComplaintBody,
    request: Request,
    response: Response,
    runtime: RuntimeDep,
    principal: PrincipalDep,
) -> dict[str, Any]:
    """Record a complaint (201); the same complaint again adds nothing and answers the stored
    one with ``duplicate`` true (200)."""
    now = utc_now()
    complaint = complaints.ComplaintIn(
        reported_number=body.reported_number,
        reporter_number=body.reporter_number,
        category=body.category,
        received_at=body.received_at,  # None: now; the same complaint again today is a duplicate
        text=body.text,
    )

    def work(session: Session) -> dict[str, Any]:
        entry = complaints.submit(
            session, principal, complaint, vault=runtime.vault, now=now, policy=runtime.policy
        )
        return entry.to_json()

    answer = await in_transaction(request, work)
    if answer["duplicate"]:
        response.status_code = status.HTTP_200_OK
    return answer
