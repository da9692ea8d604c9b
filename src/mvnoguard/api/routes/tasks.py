"""``/v1/tasks``: review tasks (card-count reviews, identity-linkage re-verifications)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel
from sqlalchemy.orm import Session

from mvnoguard.api.deps import AuthenticatedRoute, PrincipalDep, in_transaction
from mvnoguard.api.schemas import AUTHENTICATED_ERRORS
from mvnoguard.linkage import identity_links
from mvnoguard.linkage.risk_numbers import MAX_PAGE

# Task ids are 32-bit integers in every store.
MAX_TASK_ID = 2**31 - 1

router = APIRouter(
    prefix="/tasks", tags=["tasks"], responses=AUTHENTICATED_ERRORS, route_class=AuthenticatedRoute
)


class TaskOut(BaseModel):
    task_id: int
    enterprise_code: str
    kind: str
    msisdn: str | None = None
    reason: str
    status: str
    created_at: datetime
    due_at: datetime | None = None


@router.get("", response_model=list[TaskOut])
async def list_tasks(
    request: Request,
    principal: PrincipalDep,
    kind: str | None = Query(None, max_length=32, examples=["card_count_review"]),
    status: str | None = Query(None, max_length=16, examples=["open"]),
    after: int = Query(0, ge=0, le=MAX_TASK_ID, description="The last task_id of the page before."),
    limit: int = Query(MAX_PAGE, ge=1, le=MAX_PAGE),
) -> list[dict[str, Any]]:
    """An enterprise's own review tasks; the regulator sees every enterprise's. In task_id
    order, a page at a time: ask again with ``after`` set to the last task_id."""

    def work(session: Session) -> list[dict[str, Any]]:
        found = identity_links.tasks_for(
            session, principal, kind=kind, status=status, after=after, limit=limit
        )
        return [task.to_json() for task in found]

    return await in_transaction(request, work)
