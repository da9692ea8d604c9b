"""Identity linkage: a number confirmed for fraud puts every number of its holder under review.

The holder's keyed identity token (never the document) finds every live number of that holder
at every enterprise; each gets one ``reverify`` task at its own enterprise, due within the
policy's re-verification hours, and its re-verification deadline, which the lifecycle's
``enforce`` turns into a suspension when missed. An enterprise learns only that one of its own
subscribers must re-verify: the task names neither the fraud number nor the other enterprises.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from mvnoguard.domain.access import Principal, Role
from mvnoguard.domain.calendar import local_date
from mvnoguard.domain.policy import Policy
from mvnoguard.domain.subscribers import ReviewTaskKind, ReviewTaskStatus, SubscriberStatus
from mvnoguard.errors import one_of
from mvnoguard.linkage.callers import REPORTERS, own_enterprise, policy_or_default, require_role
from mvnoguard.linkage.numbers import live_holder, mask_msisdn, national_mobile
from mvnoguard.registry.records import iso_utc
from mvnoguard.storage import audit_log
from mvnoguard.storage.models import Enterprise, ReviewTask, Subscriber

REVERIFY = ReviewTaskKind.REVERIFY.value
OPEN = ReviewTaskStatus.OPEN.value
LINK_REASON = "the holder's identity is linked to a number confirmed for fraud: re-verify"


@dataclass(frozen=True)
class LinkTask:
    task_id: int
    enterprise_code: str
    msisdn: str  # masked
    due_at: datetime | None
    created: bool  # False: an open task was already there

    def to_json(self) -> dict[str, Any]:
        return {
            "task_id": self.task_id,
            "enterprise_code": self.enterprise_code,
            "msisdn": self.msisdn,
            "due_at": iso_utc(self.due_at),
            "created": self.created,
        }


@dataclass(frozen=True)
class TaskView:
    task_id: int
    enterprise_code: str
    kind: str
    msisdn: str | None  # masked
    reason: str
    status: str
    created_at: datetime
    due_at: datetime | None

    def to_json(self) -> dict[str, Any]:
        return {
            "task_id": self.task_id,
            "enterprise_code": self.enterprise_code,
            "kind": self.kind,
            "msisdn": self.msisdn,
            "reason": self.reason,
            "status": self.status,
            "created_at": iso_utc(self.created_at),
            "due_at": iso_utc(self.due_at),
        }


def open_task(session: Session, kind: str, subscriber_id: int) -> ReviewTask | None:
    return session.scalar(
        select(ReviewTask)
        .where(
            ReviewTask.kind == kind,
            ReviewTask.subscriber_id == subscriber_id,
            ReviewTask.status == OPEN,
        )
        .limit(1)
    )


def link_holder(
    session: Session, msisdn: str, *, now: datetime, actor: str, policy: Policy | None = None
) -> list[LinkTask]:
    """One open ``reverify`` task per live number of the holder of ``msisdn`` (E.164 or national).

    Idempotent: a number with an open task keeps it and gets no second one. A number with no
    live registered holder links to nothing.
    """
    national = national_mobile(msisdn) if msisdn.startswith("+") else msisdn
    holder = live_holder(session, national) if national else None
    if holder is None or holder.identity_id is None:
        return []
    hours = policy_or_default(policy).at(local_date(now)).reverify_within_hours or 24
    due = now + timedelta(hours=hours)
    numbers = session.scalars(
        select(Subscriber)
        .where(
            Subscriber.identity_id == holder.identity_id,
            Subscriber.status != SubscriberStatus.CANCELLED.value,
        )
        .order_by(Subscriber.id)
    ).all()
    tasks: list[LinkTask] = []
    for subscriber in numbers:
        existing = open_task(session, REVERIFY, subscriber.id)
        if existing is not None:
            tasks.append(
                LinkTask(
                    existing.id,
                    subscriber.enterprise.code,
                    mask_msisdn(subscriber.msisdn),
                    existing.due_at,
                    created=False,
                )
            )
            continue
        task = ReviewTask(
            kind=REVERIFY,
            enterprise_id=subscriber.enterprise_id,
            subscriber_id=subscriber.id,
            identity_id=subscriber.identity_id,
            reason=LINK_REASON,
            status=OPEN,
            created_at=now,
            due_at=due,
        )
        session.add(task)
        if subscriber.reverify_due_at is None or subscriber.reverify_due_at > due:
            subscriber.reverify_due_at = due
        audit_log.append(
            session,
            actor=actor,
            action="subscriber.reverification_required",
            subject=subscriber.msisdn,
            detail="identity linkage: fraud",
            at=now,
        )
        session.flush()
        tasks.append(
            LinkTask(task.id, subscriber.enterprise.code, mask_msisdn(subscriber.msisdn), due, True)
        )
    return tasks


def tasks_for(
    session: Session,
    principal: Principal,
    *,
    kind: str | None = None,
    status: str | None = None,
    after: int = 0,
    limit: int | None = None,
) -> list[TaskView]:
    """Review tasks in id order: an enterprise sees its own, the regulator every enterprise's.

    A page holds the tasks after id ``after``, at most ``limit`` of them (all when None).
    """
    require_role(principal, REPORTERS, "list review tasks")
    enterprise = own_enterprise(session, principal)
    query = (
        select(ReviewTask, Enterprise.code, Subscriber.msisdn)
        .join(Enterprise, Enterprise.id == ReviewTask.enterprise_id)
        .outerjoin(Subscriber, Subscriber.id == ReviewTask.subscriber_id)
        .where(ReviewTask.id > after)
        .order_by(ReviewTask.id)
        .limit(limit)
    )
    if enterprise is not None:
        query = query.where(ReviewTask.enterprise_id == enterprise.id)
    if kind is not None:
        one_of(ReviewTaskKind, kind, what="task kind", field="kind", code="bad_task_kind")
        query = query.where(ReviewTask.kind == kind)
    if status is not None:
        one_of(ReviewTaskStatus, status, what="task status", field="status", code="bad_status")
        query = query.where(ReviewTask.status == status)
    views = [
        TaskView(
            task.id,
            code,
            task.kind,
            mask_msisdn(number) if number else None,
            task.reason,
            task.status,
            task.created_at,
            task.due_at,
        )
        for task, code, number in session.execute(query)
    ]
    scope = principal.enterprise_code if principal.role is Role.ENTERPRISE else "all"
    audit_log.append(
        session, actor=principal.actor, action="tasks.list", subject=f"enterprise:{scope}"
    )
    return views
