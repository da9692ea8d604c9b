"""Vocabulary of on-site inspections: what an inspector records at an outlet.

These are the values of the ``inspections`` data contract (DESIGN.md): ``outcome`` and the
``;``-separated ``violations`` kinds. They differ from the registry audit's kinds
(:class:`mvnoguard.domain.subscribers.ViolationKind`): an inspector sees conduct at the counter,
the audit sees rows in a registry snapshot.
"""

from __future__ import annotations

from enum import StrEnum


class InspectionOutcome(StrEnum):
    PASS = "pass"  # noqa: S105 - an inspection outcome, not a password
    VIOLATION = "violation"


class InspectionViolation(StrEnum):
    """What an inspector can find at an outlet (``violations`` in the inspections contract)."""

    NO_ID_CHECK = "no_id_check"  # sold a card without checking any document
    MANUAL_ENTRY = "manual_entry"  # typed the document data by hand instead of reading it
    SOMEONE_ELSES_ID = "someone_elses_id"  # registered the buyer under another person's document
    PRE_ACTIVATED_CARD = "pre_activated_card"  # sold a card already activated under some identity
    NO_FACE_CHECK = "no_face_check"  # skipped the face-versus-ID-photo match
    SUB_DELEGATED_AGENT = "sub_delegated_agent"  # an agent passing the authorisation on
    OVER_CARD_LIMIT = "over_card_limit"  # more cards for one identity than the limit allows
    OTHER = "other"
