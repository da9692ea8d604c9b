"""Explainable rules over behaviour features: a strength per rule, one risk score, reasons.

Each rule turns figures of a number's worst day (and of its whole window) into a strength in
[0, 1] with the ramps of :class:`~mvnoguard.detection.settings.DetectionSettings`:

``fraud_calls``
    many strangers called on one day, a high share of that day's callees;
``sim_pool``
    a handset shared with several other numbers, used to call strangers;
``harassment``
    one callee called again and again on one day without ever calling back, mostly unanswered;
``ring_once``
    many calls hung up before they were answered, to strangers (call-back lures);
``spam``
    many messages on one day to recipients who never wrote back (and, when a content model
    scored the texts, mostly spam);
``complaints``
    complaints received about the number.

What legitimate heavy callers do and fraud callers don't (strangers who call back, counterparts
who call too, customers called again on another day) is the *legitimacy* of a number; it
damps the calling and messaging rules, so a courier who calls eighty new customers a day stays
clear. Ring-once lures are not damped by call-backs: drawing them is their purpose.

The combined score is ``1 - prod(1 - strength)`` over the rules (any one strong rule is
enough, several weak ones add up); the category is the strongest rule's; every rule at
``reason_strength`` or more contributes a reason in plain words with its figures.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

import numpy as np

from mvnoguard.domain.risk import RiskCategory

if TYPE_CHECKING:
    import pyarrow as pa
    from numpy.typing import NDArray

    from mvnoguard.detection.settings import DetectionSettings, Ramp

__all__ = ["RULES", "Finding", "judge"]

# In order of specificity: when two rules are equally strong, the first names the category.
RULES: dict[str, RiskCategory] = {
    "ring_once": RiskCategory.HARASSMENT,
    "harassment": RiskCategory.HARASSMENT,
    "sim_pool": RiskCategory.FRAUD,
    "spam": RiskCategory.SPAM,
    "fraud_calls": RiskCategory.FRAUD,
    "complaints": RiskCategory.FRAUD,  # replaced by the complaints' own category
    "behaviour_model": RiskCategory.FRAUD,  # replaced by the model's most likely category
}


@dataclass(frozen=True, slots=True)
class Finding:
    """One number judged risky."""

    msisdn: int
    category: RiskCategory
    score: float
    reasons: tuple[str, ...]
    strengths: dict[str, float]


def _ramp(values: NDArray[np.float64], bounds: Ramp) -> NDArray[np.float64]:
    low, high = bounds
    return np.clip((values - low) / (high - low), 0.0, 1.0)


def _share(part: NDArray[np.float64], whole: NDArray[np.float64]) -> NDArray[np.float64]:
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(whole > 0, part / np.where(whole > 0, whole, 1.0), 0.0)


def _column(table: pa.Table, name: str) -> NDArray[np.float64]:
    return np.asarray(table.column(name).to_numpy(zero_copy_only=False), dtype=np.float64)


def _nan_to_zero(values: NDArray[np.float64]) -> NDArray[np.float64]:
    return np.nan_to_num(values, nan=0.0)


def strengths(table: pa.Table, settings: DetectionSettings) -> dict[str, NDArray[np.float64]]:
    """Every rule's strength for every row of the candidate table (see :mod:`screening`)."""
    c = {
        name: _nan_to_zero(_column(table, name))
        for name in table.column_names
        if _numeric(table, name)
    }
    callees = c["callees"]
    legitimacy = np.maximum.reduce(
        [
            _ramp(_share(c["strangers_called_back"], c["strangers"]), settings.callback_share),
            _ramp(_share(c["reciprocal_callees"], callees), settings.reciprocal_share),
            _ramp(_share(c["repeat_callees"], callees), settings.repeat_share),
        ]
    )
    damp = 1.0 - legitimacy
    # Calls most people answer are a weaker sign: fraud and nuisance calls go unanswered often.
    unanswered = _ramp(_share(c["unanswered_out"], c["calls_out"]), settings.fraud_unanswered_share)
    answered_damp = 1.0 - settings.answered_damp * (1.0 - unanswered)
    fraud = (
        _ramp(c["f_strangers"], settings.fraud_strangers)
        * _ramp(_share(c["f_strangers"], c["f_callees"]), settings.fraud_stranger_share)
        * answered_damp
        * damp
    )
    new = (c["days_active_before"] >= 0) & (c["days_active_before"] <= settings.new_number_days)
    fraud = np.where(new, np.minimum(1.0, fraud * (1.0 + settings.new_number_boost)), fraud)
    pool = (
        _ramp(c["imei_sharing"], settings.pool_sharing)
        * _ramp(c["strangers"], settings.pool_strangers)
        * _ramp(_share(c["strangers"], callees), settings.pool_stranger_share)
        * damp
    )
    harassment = _ramp(c["h_calls_to_one"], settings.harassment_calls_to_one) * _ramp(
        1.0 - _share(c["h_answered"], c["h_calls"]), settings.harassment_unanswered_share
    )
    ring_once = (
        _ramp(c["r_unanswered"], settings.ring_once_unanswered)
        * _ramp(_share(c["r_unanswered"], c["r_calls"]), settings.ring_once_unanswered_share)
        * _ramp(_share(c["r_strangers"], c["r_callees"]), settings.fraud_stranger_share)
    )
    spam = (
        _ramp(c["s_messages"], settings.spam_messages)
        * _ramp(_share(c["s_strangers"], c["s_recipients"]), settings.spam_stranger_share)
        * damp
    )
    scored = c["s_scored"] > 0
    spam = np.where(
        scored,
        spam * _ramp(_share(c["s_spam"], c["s_messages"]), settings.spam_content_share),
        spam,
    )
    complaints = _ramp(c["complaints"], settings.complaints) * (1.0 - 0.5 * legitimacy)
    by_rule = {
        "fraud_calls": fraud,
        "sim_pool": pool,
        "ring_once": ring_once,
        "harassment": harassment,
        "spam": spam,
        "complaints": complaints,
    }
    return {name: by_rule[name] for name in RULES if name in by_rule}


def _numeric(table: pa.Table, name: str) -> bool:
    import pyarrow.types as pt

    kind = table.schema.field(name).type
    return bool(pt.is_integer(kind) or pt.is_floating(kind))


def judge(
    table: pa.Table,
    settings: DetectionSettings,
    behaviour: NDArray[np.float64] | None = None,
) -> list[Finding]:
    """The numbers whose combined score reaches ``flag_score``, with category and reasons.

    ``behaviour`` holds the behaviour model's class probabilities per row (clear, fraud,
    harassment, spam), when a model is used: its nuisance probability is one more strength.
    """
    if table.num_rows == 0:
        return []
    by_rule = strengths(table, settings)
    if behaviour is not None:
        by_rule["behaviour_model"] = 1.0 - behaviour[:, 0]
    names = list(by_rule)
    matrix = np.vstack([by_rule[name] for name in names])
    score = 1.0 - np.prod(1.0 - matrix, axis=0)
    flagged = np.flatnonzero(score >= settings.flag_score)
    rows = table.take(flagged).to_pylist()
    findings = []
    for row, i in zip(rows, flagged, strict=True):
        rule_strengths = {name: float(matrix[k, i]) for k, name in enumerate(names)}
        strongest = max(rule_strengths, key=lambda name: rule_strengths[name])
        category = RULES[strongest]
        if strongest == "complaints" and row.get("complaint_category") in _CATEGORY_VALUES:
            category = RiskCategory(row["complaint_category"])
        if behaviour is not None:
            likely = _MODEL_CATEGORIES[int(behaviour[i, 1:].argmax())]
            row["model_category"], row["model_strength"] = likely, rule_strengths["behaviour_model"]
            if strongest == "behaviour_model":
                category = likely
        reasons = tuple(
            _reason(name, row)
            for name in sorted(rule_strengths, key=lambda n: -rule_strengths[n])
            if rule_strengths[name] >= settings.reason_strength or name == strongest
        )
        findings.append(
            Finding(
                msisdn=int(row["msisdn"]),
                category=category,
                score=round(float(score[i]), 4),
                reasons=reasons,
                strengths={k: round(v, 4) for k, v in rule_strengths.items()},
            )
        )
    findings.sort(key=lambda f: (-f.score, f.msisdn))
    return findings


_CATEGORY_VALUES = {c.value for c in RiskCategory}
_MODEL_CATEGORIES = tuple(RiskCategory)  # the behaviour model's classes after "clear"


def _day(value: Any) -> str:
    if isinstance(value, datetime):
        value = value.date()
    if isinstance(value, date):
        return f"{value.day} {value.strftime('%B')}"
    return "one day"


def _pct(part: float, whole: float) -> str:
    return f"{round(100 * part / whole) if whole else 0}%"


def _n(value: Any) -> int:
    return int(value or 0)


def _reason(rule: str, r: dict[str, Any]) -> str:
    if rule == "fraud_calls":
        called_back = _pct(_n(r["strangers_called_back"]), _n(r["strangers"]))
        text = (
            f"{_n(r['f_calls'])} calls to {_n(r['f_strangers'])} strangers on {_day(r['f_day'])}, "
            f"{called_back} of its strangers called back"
        )
        active = r.get("days_active_before")
        if active is not None and active >= 0:
            text += f"; activated {_n(active)} days before"
        return text
    if rule == "sim_pool":
        return (
            f"shares a handset with {_n(r['imei_sharing']) - 1} other numbers; "
            f"{_n(r['strangers'])} of its {_n(r['callees'])} callees were strangers, "
            f"{_pct(_n(r['strangers_called_back']), _n(r['strangers']))} called back"
        )
    if rule == "harassment":
        return (
            f"called one number {_n(r['h_calls_to_one'])} times on {_day(r['h_day'])} "
            f"without a call back; {_pct(_n(r['h_calls']) - _n(r['h_answered']), _n(r['h_calls']))}"
            f" of its {_n(r['h_calls'])} calls that day unanswered, {_n(r['h_night'])} at night"
        )
    if rule == "ring_once":
        return (
            f"{_n(r['r_unanswered'])} of {_n(r['r_calls'])} calls on {_day(r['r_day'])} hung up "
            f"before answer (ring once), to {_n(r['r_strangers'])} strangers"
        )
    if rule == "spam":
        text = (
            f"{_n(r['s_messages'])} messages to {_n(r['s_recipients'])} recipients on "
            f"{_day(r['s_day'])}, {_pct(_n(r['s_strangers']), _n(r['s_recipients']))} never "
            "wrote back"
        )
        if _n(r.get("s_scored")):
            text += (
                f"; {_pct(_n(r['s_spam']), _n(r['s_messages']))} read as spam by the content model"
            )
        return text
    if rule == "behaviour_model":
        return (
            f"the behaviour model trained on labelled numbers gives "
            f"{round(100 * float(r['model_strength']))}% (most like {r['model_category'].value})"
        )
    category = r.get("complaint_category") or "unspecified"
    return f"{_n(r['complaints'])} complaints received (mostly {category})"
