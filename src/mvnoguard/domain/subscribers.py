"""Vocabulary of the subscriber registry: statuses, verification, outlets, networks."""

from __future__ import annotations

from enum import StrEnum

ADULT_AGE = 18  # a guardian's least age (majority under Chinese civil law)


class SubscriberStatus(StrEnum):
    ACTIVE = "active"
    SUSPENDED_OUT = "suspended_out"  # outgoing service suspended
    SUSPENDED = "suspended"  # all service suspended
    CANCELLED = "cancelled"


class VerificationMethod(StrEnum):
    READER = "reader"  # second-generation card reader
    ONLINE = "online"  # online check against the national identity database
    MANUAL = "manual"  # document data typed by hand: forbidden
    NONE = "none"


class OutletKind(StrEnum):
    OWN = "own"
    AGENT = "agent"
    ONLINE = "online"

    @property
    def is_physical(self) -> bool:
        return self is not OutletKind.ONLINE


class HostNetwork(StrEnum):
    TELECOM = "telecom"
    MOBILE = "mobile"
    UNICOM = "unicom"


class LifecycleEventKind(StrEnum):
    ACTIVATED = "activated"
    REGISTERED = "registered"  # an unregistered legacy period ended by its holder's registration
    SUSPENDED_OUT = "suspended_out"
    SUSPENDED = "suspended"
    RESUMED = "resumed"
    TRANSFERRED_OUT = "transferred_out"
    TRANSFERRED_IN = "transferred_in"
    CANCELLED = "cancelled"
    IDENTITY_PURGED = "identity_purged"


class ReviewTaskKind(StrEnum):
    """Work an enterprise is given (``review_tasks.kind``)."""

    CARD_COUNT_REVIEW = "card_count_review"  # a holder of more cards market-wide than allowed
    REVERIFICATION = "reverification"  # re-verify within the policy's hours (a regulator's call)
    REVERIFY = "reverify"  # re-verify: the identity is linked to a confirmed fraud number
    DISPUTE = "dispute"  # the identity holder says they did not register the number


class ReviewTaskStatus(StrEnum):
    """Where a review task stands (``review_tasks.status``)."""

    OPEN = "open"
    DONE = "done"  # answered: the holder re-verified


class ViolationKind(StrEnum):
    """Registry audit kinds (DESIGN.md, audit contract)."""

    UNREGISTERED = "unregistered"
    INVALID_DOCUMENT = "invalid_document"
    MANUAL_ENTRY = "manual_entry"
    FACE_CHECK_MISSING = "face_check_missing"
    OVER_CARD_LIMIT = "over_card_limit"
    NUMBER_OUTSIDE_BLOCKS = "number_outside_blocks"
    UNAUTHORIZED_OUTLET = "unauthorized_outlet"
    MINOR_WITHOUT_GUARDIAN = "minor_without_guardian"
