"""``/v1/subscribers``: the masked record of a number, and point-of-sale registration.

An enterprise key reads and registers only its own enterprise's numbers (another's answers
404, like a number that does not exist); a regulator reads every number. Identity data is
always masked in answers; clear documents exist only in memory while the sign-up runs.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from fastapi import APIRouter, Path, status
from pydantic import BaseModel, ConfigDict, Field

from mvnoguard.access.authorization import require_role, tenant_of
from mvnoguard.api.deps import PrincipalDep, RuntimeDep, SessionDep
from mvnoguard.api.schemas import AUTHENTICATED_ERRORS
from mvnoguard.domain.access import Role
from mvnoguard.domain.calendar import utc_now
from mvnoguard.identity.phones import normalize_msisdn
from mvnoguard.registry.records import subscriber_record
from mvnoguard.registry.registration import SignUp
from mvnoguard.registry.rules import PresentedDocument
from mvnoguard.registry.subscribers import latest_subscriber

router = APIRouter(prefix="/subscribers", tags=["subscribers"], responses=AUTHENTICATED_ERRORS)

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
    name: str | None = Field(default=None, max_length=100, examples=["张三"])
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
    face_score: float | None = Field(default=None, ge=0, le=1, examples=[0.93])
    guardian: DocumentIn | None = None
    agent: DocumentIn | None = None


@router.get("/{msisdn}", response_model=SubscriberRecord)
def get_subscriber(
    session: SessionDep, principal: PrincipalDep, msisdn: str = MsisdnPath
) -> dict[str, Any]:
    """The masked record of a number (the live holder, else the latest); the view is audited."""
    require_role(principal, Role.REGULATOR, Role.ENTERPRISE)
    subscriber = latest_subscriber(session, normalize_msisdn(msisdn), tenant_of(session, principal))
    return subscriber_record(session, subscriber, actor=principal.actor)


@router.post("", response_model=SubscriberRecord, status_code=status.HTTP_201_CREATED)
def register_subscriber(
    body: SignUpIn, session: SessionDep, runtime: RuntimeDep, principal: PrincipalDep
) -> dict[str, Any]:
    """Sign a subscriber up under every registration rule; a refusal names the rule (422)."""
    require_role(principal, Role.ENTERPRISE)
    enterprise = tenant_of(session, principal)
    assert enterprise is not None
    sign_up = SignUp(
        msisdn=body.msisdn,
        enterprise_code=enterprise.code,
        outlet_code=body.outlet_code,
        holder=body.holder.presented(),
        verification_method=body.verification_method,
        face_score=body.face_score,
        guardian=body.guardian.presented() if body.guardian else None,
        agent=body.agent.presented() if body.agent else None,
        at=utc_now(),
    )
    registration = runtime.registration.register(session, sign_up, actor=principal.actor)
    return subscriber_record(session, registration.subscriber, actor=principal.actor)
