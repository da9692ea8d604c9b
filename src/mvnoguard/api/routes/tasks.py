"""``/v1/tasks``: review tasks (card-count reviews, identity-linkage re-verifications)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Query
from pydantic import BaseModel

from mvnoguard.api.deps import PrincipalDep, SessionDep
from mvnoguard.api.schemas import AUTHENTICATED_ERRORS
from mvnoguard.linkage import identity_links

router = APIRouter(prefix="/tasks", tags=["tasks"], responses=AUTHENTICATED_ERRORS)


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
def list_tasks(
    session: SessionDep,
    principal: PrincipalDep,
    kind: str | None = Query(None, max_length=32, examples=["card_count_review"]),
) -> list[dict[str, Any]]:
    """An enterprise's own review tasks; the regulator sees every enterprise's."""
    return [task.to_json() for task in identity_links.tasks_for(session, principal, kind=kind)]
