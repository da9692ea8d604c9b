"""Signing a subscriber up, and transferring a number to a new holder, under the policy.

Every rule of :mod:`mvnoguard.registry.rules` runs before the first write, so a refusal leaves
the store unchanged; the caller's transaction commits the whole sign-up or nothing. A holder
whose market-wide live cards pass the review threshold is signed up and gets a review task.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from mvnoguard.domain.calendar import as_aware, local_date, not_in_future, utc_now
from mvnoguard.domain.documents import DocumentCheck
from mvnoguard.domain.policy import Policy
from mvnoguard.domain.subscribers import (
    LifecycleEventKind,
    ReviewTaskKind,
    ReviewTaskStatus,
    SubscriberStatus,
)
from mvnoguard.errors import InvalidInput, MvnoguardError, RegistrationRefused
from mvnoguard.identity.documents import validate_document
from mvnoguard.identity.phones import normalize_msisdn
from mvnoguard.identity.vault import PiiVault
from mvnoguard.linkage.card_count import national_card_count
from mvnoguard.registry import rules
from mvnoguard.registry.catalog import get_enterprise
from mvnoguard.registry.identities import (
    find_identity,
    name_matches,
    store_identity,
    token_for,
)
from mvnoguard.registry.rules import PresentedDocument
from mvnoguard.registry.subscribers import live_holder_period, live_subscriber, record_event
from mvnoguard.storage import audit_log
from mvnoguard.storage.database import hold_locks
from mvnoguard.storage.models import (
    Enterprise,
    Identity,
    Outlet,
    ReviewTask,
    Subscriber,
    Verification,
)

NAME_MISMATCH = "name_mismatch"
# Longer than any name on an identity document (a passport's machine-readable zone holds 39);
# the store keeps the masked form, never longer than the name, in 64 characters.
MAX_NAME_CHARS = 64


# Refusals raised after the holder's name was compared with the one stored (the card limit is
# the last check): each leaves an audit entry of that access.
NAME_COMPARED_REFUSALS = frozenset({NAME_MISMATCH, "card_limit_exceeded"})


def compared_name(refusal: RegistrationRefused) -> bool:
    """Whether a refused sign-up had compared the stored name (see :func:`record_name_refusal`)."""
    return refusal.name_compared or refusal.code in NAME_COMPARED_REFUSALS


@contextlib.contextmanager
def _after_comparing(compared: bool) -> Iterator[None]:
    """Refusals raised in the block come after the holder's name was compared (if ``compared``):
    each is marked, so the comparison is audited whatever the refusal."""
    try:
        yield
    except RegistrationRefused as refusal:
        refusal.name_compared = refusal.name_compared or compared
        raise


def record_name_refusal(session: Session, msisdn: str, *, actor: str, code: str) -> None:
    """Audit the name comparison of a sign-up refused after it (:data:`NAME_COMPARED_REFUSALS`).

    The refusal rolls the sign-up's transaction back, with any entry written in it; the caller
    records the comparison in a transaction of its own, so that guessing names leaves a trace.
    """
    audit_log.append(
        session,
        actor=actor,
        action="identity.match",
        subject=f"msisdn:{msisdn}",
        detail=f"sign-up refused ({code}) after the holder's name was compared with the stored one",
    )


@dataclass(frozen=True)
class SignUp:
    """Everything a point of sale submits for one new subscriber."""

    msisdn: str
    enterprise_code: str
    outlet_code: str
    holder: PresentedDocument
    verification_method: str
    face_score: float | None = None
    guardian: PresentedDocument | None = None
    # The person signing up on the holder's behalf, whose document is recorded too.
    agent: PresentedDocument | None = None
    at: datetime | None = None


@dataclass(frozen=True)
class Registration:
    subscriber: Subscriber
    review_task: ReviewTask | None


@dataclass(frozen=True)
class _Checked:
    enterprise: Enterprise
    outlet: Outlet
    msisdn: str
    holder: DocumentCheck
    guardian: DocumentCheck | None
    agent: DocumentCheck | None
    at: datetime
    # The holder's stored identity when the document was seen before (None: a new holder).
    known_holder: Identity | None
    # For a transfer: the number's live holder period at the enterprise.
    live: Subscriber | None = None


class RegistrationService:
    def __init__(self, vault: PiiVault, policy: Policy) -> None:
        self.vault = vault
        self.policy = policy

    def _serialise(self, session: Session, sign_up: SignUp) -> None:
        """Make concurrent sign-ups of the same number or the same person wait for this one.

        Without it, two sign-ups of one holder could both count four cards and both add a
        fifth. Numbers and documents the checks will refuse lock nothing.
        """
        keys: list[str] = []
        with contextlib.suppress(MvnoguardError):
            keys.append(f"msisdn:{normalize_msisdn(sign_up.msisdn)}")
        on = local_date(_sign_up_time(sign_up.at))
        for document in (sign_up.holder, sign_up.guardian, sign_up.agent):
            if document is None:
                continue
            check = validate_document(
                document.doc_type, document.number, nationality=document.nationality, today=on
            )
            if check.valid:
                keys.append(f"identity:{token_for(self.vault, check)}")
        hold_locks(session, *keys)

    def _check(
        self,
        session: Session,
        sign_up: SignUp,
        *,
        enterprise: Enterprise | None = None,
        live: Subscriber | None = None,
        transfer: bool,
    ) -> _Checked:
        """Every rule, in the order a counter clerk meets them; nothing is written.

        ``enterprise`` and ``live`` (the number's live holder period at any enterprise) are
        passed in when the caller has read them already, so each is read once per sign-up.
        """
        at = _sign_up_time(sign_up.at)
        on = local_date(at)
        ruleset = rules.require_rules(self.policy.at(on), on)
        if enterprise is None:
            enterprise = get_enterprise(session, sign_up.enterprise_code)
        msisdn = normalize_msisdn(sign_up.msisdn)
        rules.check_number(session, enterprise, msisdn)
        if transfer:
            # Looked up before any name is compared: "no such number" must not follow a right
            # name, nor "the same holder" a wrong one.
            live = live_subscriber(session, msisdn, enterprise)
        else:
            rules.check_free(msisdn, live)
        outlet = rules.check_outlet(session, enterprise, sign_up.outlet_code)
        holder = rules.check_document(ruleset, sign_up.holder, on)
        rules.check_verification(ruleset, sign_up.verification_method, sign_up.face_score, outlet)
        guardian = rules.check_age(ruleset, sign_up.holder, holder, sign_up.guardian, on)
        agent = (
            rules.check_document(ruleset, sign_up.agent, on, role="agent")
            if sign_up.agent
            else None
        )
        if not (sign_up.holder.name or "").strip():
            # The real-name rule: a sign-up records the holder's name (a blank one would also
            # block the real name at every later sign-up with the document).
            raise RegistrationRefused(
                "the holder's name is required", code="missing_name", field="name"
            )
        known_holder = self._known(session, holder, sign_up.holder, "holder", field="name")
        with _after_comparing(known_holder is not None):
            for role, check, presented in (
                ("guardian", guardian, sign_up.guardian),
                ("agent", agent, sign_up.agent),
            ):
                if check is not None and presented is not None:
                    self._known(session, check, presented, role, field=f"{role}_name")
            rules.check_card_limit(session, ruleset, enterprise, known_holder)
        return _Checked(enterprise, outlet, msisdn, holder, guardian, agent, at, known_holder, live)

    def _known(
        self,
        session: Session,
        check: DocumentCheck,
        presented: PresentedDocument,
        role: str,
        *,
        field: str,
    ) -> Identity | None:
        """The stored identity of a document, if any, once the name given with it is the one
        stored: the real-name rule, one document, one name, whoever shows it (holder, guardian
        or agent). The answer never says which name."""
        given = presented.name
        if given and len(given.strip()) > MAX_NAME_CHARS:
            raise RegistrationRefused(
                f"the {role}'s name is longer than {MAX_NAME_CHARS} characters",
                code="name_too_long",
                field=field,
            )
        known = find_identity(session, self.vault, check)
        if known is not None and given and not name_matches(self.vault, known, given):
            raise RegistrationRefused(
                f"the {role}'s name is not the name registered with this document",
                code=NAME_MISMATCH,
                field=field,
            )
        return known

    def _role_identity(
        self,
        session: Session,
        check: DocumentCheck | None,
        presented: PresentedDocument | None,
        role: str,
        event: LifecycleEventKind,
        *,
        actor: str,
        at: datetime,
    ) -> Identity | None:
        """The guardian's or agent's stored identity; its name comparison is audited.

        Looked up again rather than carried from the checks: when the guardian is also the
        agent and new, the identity stored for one role a moment ago is the other's too.
        """
        if check is None or presented is None:
            return None
        found = find_identity(session, self.vault, check)
        if found is not None and presented.name and found.name_ciphertext is not None:
            _audit_name_compared(session, found, role, event, actor=actor, at=at)
        return store_identity(session, self.vault, check, presented.name, at=at, found=found)

    def _activate(
        self,
        session: Session,
        checked: _Checked,
        sign_up: SignUp,
        *,
        actor: str,
        event: LifecycleEventKind,
    ) -> Registration:
        at = checked.at
        if checked.known_holder is not None and sign_up.holder.name:
            _audit_name_compared(session, checked.known_holder, "holder", event, actor=actor, at=at)
        holder = store_identity(
            session,
            self.vault,
            checked.holder,
            sign_up.holder.name,
            at=at,
            found=checked.known_holder,
        )
        guardian = self._role_identity(
            session, checked.guardian, sign_up.guardian, "guardian", event, actor=actor, at=at
        )
        agent = self._role_identity(
            session, checked.agent, sign_up.agent, "agent", event, actor=actor, at=at
        )
        # Relationships rather than ids: the answer to the sign-up reads them without a query.
        subscriber = Subscriber(
            msisdn=checked.msisdn,
            enterprise=checked.enterprise,
            identity=holder,
            status=SubscriberStatus.ACTIVE.value,
            activated_at=at,
            outlet=checked.outlet,
            verification_method=sign_up.verification_method,
            face_score=sign_up.face_score,
            guardian=guardian,
            agent=agent,
        )
        session.add(subscriber)
        session.flush()
        session.add(
            Verification(
                subscriber_id=subscriber.id,
                purpose=event.value,
                method=sign_up.verification_method,
                face_score=sign_up.face_score,
                outlet_id=checked.outlet.id,
                verified_at=at,
            )
        )
        record_event(session, subscriber, event, at=at, actor=actor)
        task = self._review_many_cards(
            session, subscriber, holder.id, at=at, new_holder=checked.known_holder is None
        )
        return Registration(subscriber, task)

    def _review_many_cards(
        self,
        session: Session,
        subscriber: Subscriber,
        identity_id: int,
        *,
        at: datetime,
        new_holder: bool,
    ) -> ReviewTask | None:
        threshold = self.policy.at(local_date(at)).national_card_review_threshold
        if threshold is None or subscriber.identity is None:
            return None
        # The linkage database's national count: live cards under this identity's token at
        # every enterprise. A holder whose document was never stored holds just this card.
        held = 1 if new_holder else national_card_count(session, subscriber.identity.token)
        if held <= threshold:
            return None
        task = ReviewTask(
            kind=ReviewTaskKind.CARD_COUNT_REVIEW.value,
            enterprise_id=subscriber.enterprise_id,
            subscriber_id=subscriber.id,
            identity_id=identity_id,
            reason=f"the holder has {held} live cards market-wide (review above {threshold})",
            status=ReviewTaskStatus.OPEN.value,
            created_at=at,
        )
        session.add(task)
        session.flush()
        return task

    def register(self, session: Session, sign_up: SignUp, *, actor: str) -> Registration:
        """Sign a new subscriber up; raises :class:`RegistrationRefused` naming the broken rule.

        A live but unregistered legacy number of the same enterprise is registered too: its
        unregistered period ends (event ``registered``) and the holder's period starts, so the
        suspension for missing registration is lifted by the registration itself.
        """
        self._serialise(session, sign_up)
        enterprise = get_enterprise(session, sign_up.enterprise_code)
        live = _live_period(session, sign_up.msisdn)
        legacy = (
            live
            if live is not None and live.enterprise_id == enterprise.id and live.identity_id is None
            else None
        )
        checked = self._check(
            session, sign_up, enterprise=enterprise, live=live, transfer=legacy is not None
        )
        if legacy is not None:
            legacy.status = SubscriberStatus.CANCELLED.value
            legacy.cancelled_at = checked.at
            record_event(
                session,
                legacy,
                LifecycleEventKind.REGISTERED,
                at=checked.at,
                actor=actor,
                reason="the holder registered",
            )
            session.flush()
        return self._activate(
            session, checked, sign_up, actor=actor, event=LifecycleEventKind.ACTIVATED
        )

    def transfer(self, session: Session, sign_up: SignUp, *, actor: str) -> Registration:
        """Hand a live number to a new holder: a full re-registration of the new holder.

        The old holder's period ends as cancelled history (its identity data then runs the
        retention clock); the new holder's period starts with its own verification.
        """
        self._serialise(session, sign_up)
        checked = self._check(session, sign_up, transfer=True)
        old = checked.live
        assert old is not None  # looked up by _check for a transfer
        new_holder = checked.known_holder
        with _after_comparing(new_holder is not None):
            if new_holder is not None and old.identity_id == new_holder.id:
                raise RegistrationRefused(
                    "the new holder is the current holder", code="same_holder"
                )
        old.status = SubscriberStatus.CANCELLED.value
        old.cancelled_at = checked.at
        record_event(session, old, LifecycleEventKind.TRANSFERRED_OUT, at=checked.at, actor=actor)
        session.flush()
        return self._activate(
            session, checked, sign_up, actor=actor, event=LifecycleEventKind.TRANSFERRED_IN
        )


def _audit_name_compared(
    session: Session,
    identity: Identity,
    role: str,
    event: LifecycleEventKind,
    *,
    actor: str,
    at: datetime,
) -> None:
    audit_log.append(
        session,
        actor=actor,
        action="identity.match",
        subject=f"identity:{identity.id}",
        detail=f"{event.value}: the {role}'s name compared with the stored one",
        at=at,
    )


def _sign_up_time(given: datetime | None) -> datetime:
    """When a sign-up happens: now, or a past moment it replays; never ahead of the clock (a
    number activated in the future could be neither suspended nor cancelled until then)."""
    if not given:
        return utc_now()
    try:
        aware = as_aware(given)
        local_date(aware)  # an offset can take year 1 or 9999 out of range
    except OverflowError:
        raise InvalidInput(f"at {given.isoformat()} is out of range", field="at") from None
    return not_in_future(aware, now=utc_now(), what="a sign-up", field="at")


def _live_period(session: Session, msisdn: str) -> Subscriber | None:
    """The number's live holder period at any enterprise; None also for an invalid number,
    which the checks then refuse under their own rule."""
    try:
        return live_holder_period(session, normalize_msisdn(msisdn))
    except MvnoguardError:
        return None
