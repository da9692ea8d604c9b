"""The real-name checks applied at a point of sale, one function per rule.

Each check reads only (never writes) and raises :class:`RegistrationRefused` naming its rule,
so a refused sign-up leaves the store exactly as it was. Refusal codes are stable:

=========================== ==================================================================
code                        refused because
=========================== ==================================================================
no_rules_in_force           the sign-up date predates every version of the policy
number_outside_blocks       the number lies in no block allocated to the enterprise
number_in_use               the number has a live holder already
unauthorized_outlet         outlet unknown, of another enterprise, or not authorised
sub_delegated_outlet        the outlet was authorised by an agent, not the enterprise
outlet_blacklisted          the outlet is on the agent blacklist
document_type_not_accepted  the policy does not accept this document type
invalid_document            the holder's document fails validation (``details.reason``)
birth_date_missing          the document carries no birth date and none was given
implausible_birth_date      the birth date is after the sign-up or before 1900
manual_entry_forbidden      document data typed by hand
verification_missing        no card-reader or online verification
face_check_failed           physical outlet without a face score at or above the threshold
minor_without_guardian      under the minimum age and no guardian document recorded
invalid_guardian_document   the guardian's document fails validation, is the holder's own,
                            or belongs to a minor
invalid_agent_document      the document of the person signing up for the holder fails
card_limit_exceeded         the identity already holds the maximum live cards here
=========================== ==================================================================
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from mvnoguard.domain.documents import DocType, DocumentCheck
from mvnoguard.domain.policy import RuleSet
from mvnoguard.domain.subscribers import (
    ADULT_AGE,
    OutletKind,
    SubscriberStatus,
    VerificationMethod,
)
from mvnoguard.errors import InvalidInput, RegistrationRefused
from mvnoguard.identity.documents import age_on, validate_document
from mvnoguard.registry.catalog import get_outlet
from mvnoguard.storage.models import Enterprise, Identity, NumberBlock, Outlet, Subscriber

EARLIEST_BIRTH_YEAR = 1900


@dataclass(frozen=True)
class PresentedDocument:
    """A document shown at the counter, with the holder's name and, where needed, birth date."""

    doc_type: str
    number: str
    nationality: str | None = None
    name: str | None = None
    birth_date: date | None = None


def require_rules(rules: RuleSet, on: date) -> RuleSet:
    if rules.allowed_verification_methods is None and rules.accepted_doc_types is None:
        raise RegistrationRefused(
            f"no real-name rules are in force on {on}", code="no_rules_in_force"
        )
    return rules


def check_number(session: Session, enterprise: Enterprise, msisdn: str) -> None:
    in_block = session.scalar(
        select(NumberBlock.id).where(
            NumberBlock.enterprise_id == enterprise.id,
            NumberBlock.first_number <= msisdn,
            NumberBlock.last_number >= msisdn,
        )
    )
    if in_block is None:
        raise RegistrationRefused(
            f"{msisdn} lies in no number block allocated to {enterprise.code}",
            code="number_outside_blocks",
            field="msisdn",
        )


def check_free(msisdn: str, live: Subscriber | None) -> None:
    """Refuse a number that has a live holder period (``live``, read by the caller)."""
    if live is not None:
        raise RegistrationRefused(
            f"{msisdn} already has a live holder", code="number_in_use", field="msisdn"
        )


def check_outlet(session: Session, enterprise: Enterprise, outlet_code: str) -> Outlet:
    outlet = get_outlet(session, outlet_code)
    if outlet is None or outlet.enterprise_id != enterprise.id or not outlet.authorized:
        raise RegistrationRefused(
            f"outlet {outlet_code!r} is not an authorised outlet of {enterprise.code}",
            code="unauthorized_outlet",
            field="outlet_code",
        )
    if outlet.delegated_by is not None:
        raise RegistrationRefused(
            f"outlet {outlet_code!r} was sub-delegated by agent {outlet.delegated_by!r}; "
            "only the enterprise may authorise outlets",
            code="sub_delegated_outlet",
            field="outlet_code",
        )
    if outlet.blacklisted_at is not None:
        raise RegistrationRefused(
            f"outlet {outlet_code!r} is on the agent blacklist and can register no one",
            code="outlet_blacklisted",
            field="outlet_code",
        )
    return outlet


def check_document(
    rules: RuleSet, document: PresentedDocument, on: date, *, role: str = "holder"
) -> DocumentCheck:
    """Validate a presented document; ``role`` (holder, guardian, agent) picks the refusal code."""
    prefix = "" if role == "holder" else f"{role}_"
    field = "doc_number" if role == "holder" else f"{role}_doc_number"
    accepted = rules.accepted_doc_types
    if accepted is not None and document.doc_type.upper() not in accepted:
        raise RegistrationRefused(
            f"{role} document type {document.doc_type!r} is not accepted",
            code="document_type_not_accepted",
            field=field,
        )
    check = validate_document(
        document.doc_type, document.number, nationality=document.nationality, today=on
    )
    if not check.valid:
        raise RegistrationRefused(
            f"the {role}'s document is invalid: {check.message}",
            code=f"invalid_{prefix}document",
            field=field,
            details={"reason": check.code},
        )
    return check


def check_verification(
    rules: RuleSet, method: str, face_score: float | None, outlet: Outlet
) -> None:
    # A face match score is a similarity from 0 to 1. NaN compares false with the threshold,
    # so it would pass the check below: anything else is refused whatever the outlet.
    if face_score is not None and not 0.0 <= face_score <= 1.0:
        raise InvalidInput(
            "face_score must be a number from 0 to 1", code="bad_face_score", field="face_score"
        )
    allowed = rules.allowed_verification_methods or frozenset()
    if method not in allowed:
        if method == VerificationMethod.MANUAL:
            raise RegistrationRefused(
                "typing document data by hand is forbidden: use a card reader or the online check",
                code="manual_entry_forbidden",
                field="verification_method",
            )
        raise RegistrationRefused(
            f"verification {method!r} is not allowed; allowed: {', '.join(sorted(allowed))}",
            code="verification_missing",
            field="verification_method",
        )
    face_kinds = rules.face_check_outlet_kinds or frozenset()
    threshold = rules.face_score_min
    if threshold is None or OutletKind(outlet.kind) not in face_kinds:
        return
    if face_score is None or face_score < threshold:
        # Shown as given ("0.7999999", not a rounded "0.80" that would read as passing).
        shown = "no face score" if face_score is None else f"face score {face_score!r}"
        raise RegistrationRefused(
            f"{shown} at a physical outlet; at least {threshold:g} is required",
            code="face_check_failed",
            field="face_score",
        )


def check_age(
    rules: RuleSet,
    holder: PresentedDocument,
    holder_check: DocumentCheck,
    guardian: PresentedDocument | None,
    on: date,
) -> DocumentCheck | None:
    """Refuse an under-age holder without a guardian; returns the guardian's check if any.

    An organisation (USCC) has no age. A guardian is another person, and an adult.
    """
    guardian_check = check_document(rules, guardian, on, role="guardian") if guardian else None
    if guardian_check is not None:
        _check_guardian(holder_check, guardian_check, on)
    minimum = rules.min_age_without_guardian
    if minimum is None or holder_check.doc_type is DocType.USCC:
        return guardian_check
    birth = holder_check.birth_date or holder.birth_date
    if birth is None:
        raise RegistrationRefused(
            "the document carries no birth date: give the holder's birth date",
            code="birth_date_missing",
            field="birth_date",
        )
    if birth > on or birth.year < EARLIEST_BIRTH_YEAR:
        raise RegistrationRefused(
            f"a birth date of {birth.isoformat()} is not possible for a holder signing up on "
            f"{on.isoformat()}",
            code="implausible_birth_date",
            field="birth_date",
        )
    if age_on(birth, on) < minimum and guardian_check is None:
        raise RegistrationRefused(
            f"the holder is under {minimum} and no guardian document is recorded",
            code="minor_without_guardian",
            field="guardian_doc_number",
        )
    return guardian_check


def _check_guardian(holder: DocumentCheck, guardian: DocumentCheck, on: date) -> None:
    if (guardian.doc_type, guardian.number) == (holder.doc_type, holder.number):
        raise RegistrationRefused(
            "the guardian's document is the holder's own",
            code="invalid_guardian_document",
            field="guardian_doc_number",
        )
    if guardian.birth_date is not None and age_on(guardian.birth_date, on) < ADULT_AGE:
        raise RegistrationRefused(
            f"the guardian is under {ADULT_AGE}",
            code="invalid_guardian_document",
            field="guardian_doc_number",
        )


def live_cards(
    session: Session, identity: Identity | None, enterprise: Enterprise | None = None
) -> int:
    """Live (non-cancelled) numbers held by an identity, at one enterprise or market-wide."""
    if identity is None:
        return 0
    query = select(func.count(Subscriber.id)).where(
        Subscriber.identity_id == identity.id,
        Subscriber.status != SubscriberStatus.CANCELLED.value,
    )
    if enterprise is not None:
        query = query.where(Subscriber.enterprise_id == enterprise.id)
    return session.scalar(query) or 0


def check_card_limit(
    session: Session, rules: RuleSet, enterprise: Enterprise, identity: Identity | None
) -> None:
    limit = rules.card_limit_per_enterprise
    if limit is None:
        return
    held = live_cards(session, identity, enterprise)
    if held >= limit:
        raise RegistrationRefused(
            f"the holder already has {held} live cards at {enterprise.code}; the limit is {limit}",
            code="card_limit_exceeded",
            field="doc_number",
            details={"held": held, "limit": limit},
        )
