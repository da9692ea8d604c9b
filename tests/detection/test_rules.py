"""The explainable rules on hand-made candidate rows: who is flagged, why, and who stays clear."""

from __future__ import annotations

from datetime import date
from typing import Any

import pyarrow as pa
import pytest

from mvnoguard.detection.rules import judge
from mvnoguard.detection.settings import DetectionSettings
from mvnoguard.domain.risk import RiskCategory
from mvnoguard.errors import ConfigurationError
from mvnoguard.policy import parse_policy

QUIET: dict[str, Any] = {
    "calls_out": 0,
    "unanswered_out": 0,
    "callees": 0,
    "strangers": 0,
    "strangers_called_back": 0,
    "reciprocal_callees": 0,
    "repeat_callees": 0,
    "imei_sharing": 1,
    "complaints": 0,
    "complaint_category": None,
    "days_active_before": -1,
    "f_day": date(2026, 3, 7),
    "f_strangers": 0,
    "f_callees": 0,
    "f_calls": 0,
    "h_day": date(2026, 3, 7),
    "h_calls_to_one": 0,
    "h_calls": 0,
    "h_answered": 0,
    "h_night": 0,
    "r_day": date(2026, 3, 7),
    "r_unanswered": 0,
    "r_calls": 0,
    "r_strangers": 0,
    "r_callees": 0,
    "s_day": date(2026, 3, 7),
    "s_messages": 0,
    "s_recipients": 0,
    "s_strangers": 0,
    "s_spam": 0,
    "s_scored": 0,
}


def _row(msisdn: int, **figures: Any) -> dict[str, Any]:
    return {"msisdn": msisdn, **QUIET, **figures}


FRAUD = _row(
    8617000000001,
    calls_out=600,
    unanswered_out=360,
    callees=590,
    strangers=585,
    strangers_called_back=6,
    reciprocal_callees=6,
    f_strangers=209,
    f_callees=210,
    f_calls=214,
    days_active_before=5,
)
COURIER = _row(
    8617000000002,
    calls_out=560,
    unanswered_out=50,
    callees=420,
    strangers=330,
    strangers_called_back=90,
    reciprocal_callees=150,
    repeat_callees=80,
    f_strangers=80,
    f_callees=95,
    f_calls=100,
    days_active_before=900,
)
HARASSER = _row(
    8617000000003,
    calls_out=200,
    unanswered_out=180,
    callees=3,
    h_calls_to_one=32,
    h_calls=40,
    h_answered=4,
    h_night=9,
)
SPAMMER = _row(
    8617000000004,
    s_messages=480,
    s_recipients=470,
    s_strangers=468,
    s_spam=450,
    s_scored=1,
)


def _judge(*rows: dict[str, Any], settings: DetectionSettings | None = None) -> dict[int, Any]:
    findings = judge(pa.Table.from_pylist(list(rows)), settings or DetectionSettings())
    return {f.msisdn: f for f in findings}


def test_fraud_caller_flagged_with_its_figures() -> None:
    found = _judge(FRAUD, COURIER)
    fraud = found[FRAUD["msisdn"]]
    assert fraud.category is RiskCategory.FRAUD
    assert 0.5 <= fraud.score <= 1.0
    assert fraud.reasons[0].startswith("214 calls to 209 strangers on 7 March, 1% of its strangers")
    assert "activated 5 days before" in fraud.reasons[0]


def test_courier_with_call_backs_and_repeat_customers_stays_clear() -> None:
    assert COURIER["msisdn"] not in _judge(FRAUD, COURIER)
    # The same volume without anyone calling back or being called again is flagged.
    lonely = {**COURIER, "strangers_called_back": 0, "reciprocal_callees": 0, "repeat_callees": 0}
    assert COURIER["msisdn"] in _judge(lonely)


def test_harassment_and_spam_named_by_their_own_category() -> None:
    found = _judge(HARASSER, SPAMMER)
    assert found[HARASSER["msisdn"]].category is RiskCategory.HARASSMENT
    assert "called one number 32 times on 7 March" in found[HARASSER["msisdn"]].reasons[0]
    assert found[SPAMMER["msisdn"]].category is RiskCategory.SPAM
    assert "94% read as spam" in found[SPAMMER["msisdn"]].reasons[0]


def test_content_model_clears_bulk_notifications() -> None:
    notices = {**SPAMMER, "s_spam": 3}
    assert SPAMMER["msisdn"] not in _judge(notices)


def test_every_finding_has_reasons_and_a_bounded_score() -> None:
    for finding in _judge(FRAUD, COURIER, HARASSER, SPAMMER).values():
        assert finding.reasons
        assert 0.0 <= finding.score <= 1.0


def test_thresholds_come_from_the_policy_file() -> None:
    strict = DetectionSettings.from_policy(
        parse_policy("[detection]\nfraud_strangers = [300, 400]\n")
    )
    assert strict.fraud_strangers == (300.0, 400.0)
    assert FRAUD["msisdn"] not in _judge(FRAUD, settings=strict)


@pytest.mark.parametrize(
    "text",
    ["[detection]\nno_such_setting = 1\n", "[detection]\nfraud_strangers = [5, 1]\n"],
)
def test_bad_detection_settings_are_refused(text: str) -> None:
    with pytest.raises(ConfigurationError):
        DetectionSettings.from_policy(parse_policy(text))
