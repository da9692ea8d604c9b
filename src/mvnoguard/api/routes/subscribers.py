"""``/v1/subscribers``: the masked record of a number, and point-of-sale registration.

An enterprise key reads and registers only its own enterprise's numbers (another's answers
404, like a number that does not exist); a regulator reads every number. Identity data is
always masked in answers; clear documents exist only in memory while the sign-up runs.
"""

from __future__ import annotations

from datetime import date
from functools import partial
from typing import Any

from fastapi import APIRouter, Path, Request, status
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session

from mvnoguard.access.authorization import require_role, tenant_code, tenant_of
from mvnoguard.api.deps import AuthenticatedRoute, PrincipalDep, RuntimeDep, in_transaction
from mvnoguard.api.schemas import AUTHENTICATED_ERRORS
from mvnoguard.domain.access import Role
from mvnoguard.domain.calendar import utc_now
from mvnoguard.domain.subscribers import LifecycleEventKind
from mvnoguard.errors import RegistrationRefused
from mvnoguard.identity.phones import normalize_msisdn
from mvnoguard.registry.records import holder_period, iso_utc, subscriber_record
from mvnoguard.registry.registration import (
    MAX_NAME_CHARS,
    SignUp,
    compared_name,
    record_name_refusal,
)
from mvnoguard.registry.rules import PresentedDocument
from mvnoguard.registry.subscribers import latest_subscriber
from mvnoguard.storage.models import Subscriber

router = APIRouter(
    prefix="/subscribers",
    tags=["subscribers"],
    responses=AUTHENTICATED_ERRORS,
    route_class=AuthenticatedRoute,
)

MsisdnPath = Path(
    max_length=32, description="Mobile number (11 digits; +86 accepted).", examples=["17012345678"]
)


class MaskedIdentity(BaseModel):
    doc_type: str = Field(examples=["RIC"])
    doc_number: str = Field(examples=["1101**********1234"])
    name: str | None = Field(default=None, examples=["张*"])
    nationality: str | None = Field(default=None, examples=["CHN"])


class HistoryEntry(BaseModel):
    kind: str = Field(examples=["activated"])
    at: str | None = None
    reason: str | None = None
    actor: str


class SubscriberRecord(BaseModel):
    """A holder period of a number; every identity in it is masked."""

    msisdn: str = Field(examples=["17012345678"])
    enterprise_code: str = Field(examples=["ENT001"])
    status: str = Field(examples=["active"])
    activated_at: str | None = None
    cancelled_at: str | None = None
    holder: MaskedIdentity | None = None
    guardian: MaskedIdentity | None = None
    agent: MaskedIdentity | None = None
    outlet_code: str | None = None
    verification_method: str | None = None
    face_score: float | None = None
    reverify_due_at: str | None = None
    history: list[HistoryEntry] = Field(default_factory=list)


class DocumentIn(BaseModel):
    """A document shown at the counter."""

    model_config = ConfigDict(extra="forbid")

    doc_type: str = Field(max_length=16, examples=["RIC"])
    number: str = Field(max_length=64, examples=["110101199003071234"])
    nationality: str | None = Field(default=None, max_length=3, examples=["CHN"])
    name: str | None = Field(default=None, max_length=MAX_NAME_CHARS, examples=["张三"])
    birth_date: date | None = Field(default=None, examples=["1990-03-07"])

    def presented(self) -> PresentedDocument:
        return PresentedDocument(
            doc_type=self.doc_type,
            number=self.number,
            nationality=self.nationality,
            name=self.name,
            birth_date=self.birth_date,
        )


class SignUpIn(BaseModel):
    """A point-of-sale sign-up; the enterprise is the calling key's."""

    model_config = ConfigDict(extra="forbid")

    msisdn: str = Field(max_length=32, examples=["17012345678"])
    outlet_code: str = Field(max_length=64, examples=["ENT001-OWN-001"])
    holder: DocumentIn
    verification_method: str = Field(max_length=16, examples=["reader"])
    face_score: float | None = Field(default=None, ge=0, le=1, strict=True, examples=[0.93])
    guardian: DocumentIn | None = None
    agent: DocumentIn | None = None


@router.get("/{msisdn}", response_model=SubscriberRecord)
async def get_subscriber(
    request: Request, principal: PrincipalDep, msisdn: str = MsisdnPath
) -> dict[str, Any]:
    """The masked record of a number (the live holder, else the latest); the view is audited."""
    require_role(principal, Role.REGULATOR, Role.ENTERPRISE)

    def work(session: Session) -> dict[str, Any]:
        tenant = tenant_of(session, principal)
        subscriber = latest_subscriber(session, normalize_msisdn(msisdn), tenant)
        return subscriber_record(session, subscriber, actor=principal.actor)

    return await in_transaction(request, work)


@router.post("", response_model=SubscriberRecord, status_code=status.HTTP_201_CREATED)
async def register_subscriber(
    body: SignUpIn, request: Request, runtime: RuntimeDep, principal: PrincipalDep
) -> dict[str, Any]:
    """Sign a subscriber up under every registration rule; a refusal names the rule (422)."""
    require_role(principal, Role.ENTERPRISE)
    enterprise_code = tenant_code(principal)  # the registration loads and checks it
    assert enterprise_code is not None

    def work(session: Session) -> dict[str, Any]:
        sign_up = SignUp(
            msisdn=body.msisdn,
            enterprise_code=enterprise_code,
            outlet_code=body.outlet_code,
            holder=body.holder.presented(),
            verification_method=body.verification_method,
            face_score=body.face_score,
            guardian=body.guardian.presented() if body.guardian else None,
            agent=body.agent.presented() if body.agent else None,
            at=utc_now(),
        )
        registration = runtime.registration.register(session, sign_up, actor=principal.actor)
        return _registered_record(registration.subscriber, actor=principal.actor)

    try:
        return await in_transaction(request, work)
    except RegistrationRefused as exc:
        if compared_name(exc):  # the refused comparison is audited all the same
            await in_transaction(
                request,
                partial(
                    record_name_refusal,
                    msisdn=body.msisdn,
                    actor=principal.actor,
                    code=exc.code,
                ),
            )
        raise


def _registered_record(subscriber: Subscriber, *, actor: str) -> dict[str, Any]:
    """The answer to a sign-up: the new holder period, masked, from the rows just written.

    No query and no ``subscriber.view`` entry: the sign-up runs while its transaction holds the
    audit log's lock (taken by the registration's own ``subscriber.activated`` entry, which
    already names this caller and number), and every statement here would hold up every other
    sign-up behind that lock. ``GET /v1/subscribers/{msisdn}`` answers the same record, audited.
    """
    return {
        **holder_period(subscriber),
        "history": [
            {
                "kind": LifecycleEventKind.ACTIVATED.value,
                "at": iso_utc(subscriber.activated_at),
                "reason": None,
                "actor": actor,
            }
        ],
    }
