"""``/v1/risk-numbers``: the shared risk-number database (push, change feed, confirm, dispose,
clear, overdue). Role and tenant checks are the service's (:mod:`mvnoguard.linkage`)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Path, Query, Request, status
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session

from mvnoguard.api.deps import AuthenticatedRoute, PrincipalDep, RuntimeDep, in_transaction
from mvnoguard.api.schemas import AUTHENTICATED_ERRORS
from mvnoguard.domain.calendar import utc_now
from mvnoguard.domain.risk import DisposalAction, RiskCategory, RiskStatus
from mvnoguard.linkage import risk_numbers
from mvnoguard.linkage.risk_numbers import MAX_EVIDENCE_CHARS, MAX_PAGE, MAX_REASON_CHARS

router = APIRouter(
    prefix="/risk-numbers",
    tags=["risk numbers"],
    responses=AUTHENTICATED_ERRORS,
    route_class=AuthenticatedRoute,
)

# Cursors are row ids: 64-bit signed integers in every store.
MAX_CURSOR = 2**63 - 1

NumberPath = Path(max_length=32, description="Phone number (E.164 or national).")


class RiskPushIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    msisdn: str = Field(max_length=32, examples=["+8617012345678"])
    category: RiskCategory = Field(examples=["fraud"])
    score: float = Field(ge=0, le=1, strict=True, examples=[0.87])  # no true, no "0.5"
    evidence: str = Field(
        min_length=1, max_length=MAX_EVIDENCE_CHARS, examples=["1,200 short calls in an hour"]
    )


class RiskEntryOut(BaseModel):
    msisdn: str = Field(examples=["+8617012345678"])
    status: RiskStatus
    category: RiskCategory
    categories: list[RiskCategory]
    score: float
    reports: int
    enterprise_code: str | None = None
    updated_at: datetime
    confirmed_at: datetime | None = None
    dispose_by: datetime | None = None
    disposed_at: datetime | None = None
    disposal_action: DisposalAction | None = None
    cleared_at: datetime | None = None
    clear_reason: str | None = None


class ChangeOut(BaseModel):
    cursor: int
    msisdn: str
    category: RiskCategory
    status: RiskStatus
    score: float
    reports: int
    changed_at: datetime


class ChangePageOut(BaseModel):
    items: list[ChangeOut]
    next_cursor: int = Field(description="Pass as `since` for the next page.")


class DisposalIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    action: DisposalAction = Field(examples=["suspended"])


class ClearIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str = Field(min_length=1, max_length=MAX_REASON_CHARS, examples=["appeal upheld"])


@router.post("", response_model=RiskEntryOut, status_code=status.HTTP_201_CREATED)
async def push_risk_number(
    body: RiskPushIn, request: Request, runtime: RuntimeDep, principal: PrincipalDep
) -> dict[str, Any]:
    """Report a number (pushing again updates the caller's report in that category)."""
    report = risk_numbers.RiskPush(body.msisdn, body.category, body.score, body.evidence)

    def work(session: Session) -> dict[str, Any]:
        return risk_numbers.push(
            session, principal, report, now=utc_now(), policy=runtime.policy
        ).to_json()

    return await in_transaction(request, work)


@router.get("/changes", response_model=ChangePageOut)
async def risk_changes(
    request: Request,
    principal: PrincipalDep,
    since: int = Query(
        0, ge=0, le=MAX_CURSOR, description="Cursor: 0 from the start, else a `next_cursor`."
    ),
    limit: int = Query(100, ge=1, le=MAX_PAGE),
) -> dict[str, Any]:
    """The change feed after a cursor, oldest first; no change is returned twice."""

    def work(session: Session) -> dict[str, Any]:
        return risk_numbers.changes(session, principal, since=since, limit=limit).to_json()

    return await in_transaction(request, work)


@router.get("/overdue", response_model=list[RiskEntryOut])
async def overdue_risk_numbers(
    request: Request,
    principal: PrincipalDep,
    after: str | None = Query(
        None, max_length=32, description="The last number of the page before."
    ),
    limit: int = Query(MAX_PAGE, ge=1, le=MAX_PAGE),
) -> list[dict[str, Any]]:
    """Confirmed numbers not disposed of by their deadline (an enterprise: its own), the longest
    overdue first, a page at a time: ask again with ``after`` set to the last number."""

    def work(session: Session) -> list[dict[str, Any]]:
        found = risk_numbers.overdue(session, principal, now=utc_now(), after=after, limit=limit)
        return [e.to_json() for e in found]

    return await in_transaction(request, work)


@router.post("/{msisdn}/confirm", response_model=RiskEntryOut)
async def confirm_risk_number(
    request: Request, runtime: RuntimeDep, principal: PrincipalDep, msisdn: str = NumberPath
) -> dict[str, Any]:
    """The regulator confirms a reported number; the disposal clock starts."""

    def work(session: Session) -> dict[str, Any]:
        return risk_numbers.confirm(
            session, principal, msisdn, now=utc_now(), policy=runtime.policy
        ).to_json()

    return await in_transaction(request, work)


@router.post("/{msisdn}/dispose", response_model=RiskEntryOut)
async def dispose_risk_number(
    body: DisposalIn,
    request: Request,
    runtime: RuntimeDep,
    principal: PrincipalDep,
    msisdn: str = NumberPath,
) -> dict[str, Any]:
    """The answerable enterprise records what it did with a confirmed number."""

    def work(session: Session) -> dict[str, Any]:
        return risk_numbers.dispose(
            session, principal, msisdn, body.action, now=utc_now(), policy=runtime.policy
        ).to_json()

    return await in_transaction(request, work)


@router.post("/{msisdn}/clear", response_model=RiskEntryOut)
async def clear_risk_number(
    body: ClearIn, request: Request, principal: PrincipalDep, msisdn: str = NumberPath
) -> dict[str, Any]:
    """The regulator clears a number (an appeal upheld)."""

    def work(session: Session) -> dict[str, Any]:
        return risk_numbers.clear(session, principal, msisdn, body.reason, now=utc_now()).to_json()

    return await in_transaction(request, work)
