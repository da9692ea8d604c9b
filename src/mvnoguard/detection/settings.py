"""The detectors' thresholds: the ``[detection]`` table of the policy file, typed.

Every figure a rule compares against lives here, with the default the embedded policy ships;
an operator tunes them in the policy file, never in code. A *ramp* ``(low, high)`` turns a
figure into a strength in [0, 1]: nothing at or below ``low``, full at or above ``high``.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import TYPE_CHECKING, Any

from mvnoguard.errors import ConfigurationError
from mvnoguard.policy import section_values

if TYPE_CHECKING:
    from mvnoguard.domain.policy import Policy

__all__ = ["DetectionSettings", "Ramp"]

Ramp = tuple[float, float]


@dataclass(frozen=True, slots=True)
class DetectionSettings:
    # A number is listed when its combined risk score reaches this.
    flag_score: float = 0.5
    # A rule's strength must reach this for the rule to be named among the reasons.
    reason_strength: float = 0.25
    # Legitimacy: strangers who call back, counterparts who call too, callees called again.
    callback_share: Ramp = (0.04, 0.12)
    reciprocal_share: Ramp = (0.12, 0.30)
    repeat_share: Ramp = (0.10, 0.25)
    # Fraud calling: many strangers on one day, few of them ever calling back.
    fraud_strangers: Ramp = (20.0, 45.0)
    fraud_stranger_share: Ramp = (0.5, 0.8)
    # Share of a number's calls left unanswered; mostly answered calling is damped by up to
    # `answered_damp` (people pick up couriers and sales staff, rarely fraud callers twice).
    fraud_unanswered_share: Ramp = (0.15, 0.4)
    answered_damp: float = 0.5
    new_number_days: int = 30  # activated this recently: strengthens the fraud rule
    new_number_boost: float = 0.25
    # SIM pools: a handset shared by many numbers calling strangers.
    pool_sharing: Ramp = (3.0, 5.0)
    pool_strangers: Ramp = (10.0, 30.0)
    pool_stranger_share: Ramp = (0.5, 0.8)
    # Harassment: one callee called again and again without ever calling back.
    harassment_calls_to_one: Ramp = (6.0, 12.0)
    harassment_unanswered_share: Ramp = (0.3, 0.6)
    # Ring-once lures: many calls hung up before they are answered, to strangers.
    ring_once_unanswered: Ramp = (30.0, 60.0)
    ring_once_unanswered_share: Ramp = (0.6, 0.85)
    # Spam: many messages on one day to recipients who never write back.
    spam_messages: Ramp = (50.0, 150.0)
    spam_stranger_share: Ramp = (0.6, 0.85)
    spam_content_share: Ramp = (0.3, 0.7)  # used when a content model scored the texts
    # Complaints received about the number in the window.
    complaints: Ramp = (1.0, 4.0)
    # Candidate pre-filter: a number none of whose days reaches any of these is not scored.
    # Each is only ever as strict as its rule's ramp allows (see `candidate_floors`), so a
    # rule's ramp lowered in the policy takes effect without its pre-filter lowered too.
    candidate_strangers: int = 15
    candidate_calls_to_one: int = 5
    candidate_unanswered: int = 20
    candidate_messages: int = 30
    candidate_sharing: int = 3
    candidate_complaints: int = 1

    def candidate_floors(self) -> dict[str, float]:
        """The pre-filter in force: each ``candidate_*`` figure, lowered to the low end of the
        ramp of the rule it screens for where that is lower (a number the rule would score
        is never dropped before it is judged)."""
        return {
            "strangers": min(self.candidate_strangers, self.fraud_strangers[0]),
            "calls_to_one": min(self.candidate_calls_to_one, self.harassment_calls_to_one[0]),
            "unanswered": min(self.candidate_unanswered, self.ring_once_unanswered[0]),
            "messages": min(self.candidate_messages, self.spam_messages[0]),
            "sharing": min(self.candidate_sharing, self.pool_sharing[0]),
            "complaints": min(self.candidate_complaints, self.complaints[0]),
        }

    @classmethod
    def from_policy(cls, policy: Policy) -> DetectionSettings:
        raw = section_values(policy, "detection", (f.name for f in fields(cls)))
        values: dict[str, Any] = {}
        for name, value in raw.items():
            default = getattr(cls(), name)
            values[name] = _typed(name, value, default)
        return cls(**values)


def _typed(name: str, value: Any, default: Any) -> Any:
    if isinstance(default, tuple):
        if (
            not isinstance(value, list)
            or len(value) != 2
            or not all(isinstance(v, int | float) for v in value)
            or value[0] >= value[1]
        ):
            raise ConfigurationError(f"policy [detection]: {name} must be [low, high], low < high")
        return (float(value[0]), float(value[1]))
    if isinstance(default, bool) or not isinstance(value, int | float):
        raise ConfigurationError(f"policy [detection]: {name} must be a number")
    return type(default)(value)
