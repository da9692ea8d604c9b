"""Vocabulary of the shared risk-number database."""

from __future__ import annotations

from enum import StrEnum


class RiskCategory(StrEnum):
    FRAUD = "fraud"
    HARASSMENT = "harassment"
    SPAM = "spam"


class RiskStatus(StrEnum):
    """reported -> confirmed -> disposed -> cleared (cleared may also end a reported entry)."""

    REPORTED = "reported"
    CONFIRMED = "confirmed"
    DISPOSED = "disposed"
    CLEARED = "cleared"


class RiskLevel(StrEnum):
    NONE = "none"
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"


class DisposalAction(StrEnum):
    """What the owning enterprise did with a confirmed number (within 24 hours)."""

    SUSPENDED = "suspended"
    REVERIFIED = "reverified"
    CANCELLED = "cancelled"


class ComplaintCategory(StrEnum):
    FRAUD = "fraud"
    HARASSMENT = "harassment"
    SPAM = "spam"
    OTHER = "other"
