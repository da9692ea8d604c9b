"""The risk-number database over HTTP: push, change feed, reputation, tenant isolation."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy import select

from mvnoguard.storage.models import Complaint
from tests.api.conftest import HOLDER_A, NUMBER_A, NUMBER_B, LiveServer
from tests.api.test_subscribers import assert_error, assert_masked, sign_up_body
from tests.registry.builders import row_counts


def push_body(msisdn: str, **changes: Any) -> dict[str, Any]:
    return {
        "msisdn": msisdn,
        "category": "fraud",
        "score": 0.9,
        "evidence": "hundreds of one-ring calls",
        **changes,
    }


def feed_end(client: httpx.Client) -> int:
    cursor = 0
    while True:
        page = client.get("/v1/risk-numbers/changes", params={"since": cursor, "limit": 1000})
        assert page.status_code == 200, page.text
        body = page.json()
        if not body["items"]:
            return cursor
        cursor = body["next_cursor"]


def test_a_push_reaches_another_enterprises_feed_exactly_once(live: LiveServer) -> None:
    number = "+8613912340001"
    with live.client("E01") as a, live.client("E02") as b:
        start = feed_end(b)
        pushed = a.post("/v1/risk-numbers", json=push_body(number))
        assert pushed.status_code == 201, pushed.text
        assert pushed.json()["status"] == "reported"
        again = a.post("/v1/risk-numbers", json=push_body(number, score=0.95))
        assert again.status_code == 201
        seen: list[dict[str, Any]] = []
        cursor = start
        while True:
            page = b.get("/v1/risk-numbers/changes", params={"since": cursor, "limit": 1})
            assert page.status_code == 200
            body = page.json()
            if not body["items"]:
                assert body["next_cursor"] == cursor
                break
            assert len(body["items"]) <= 1
            assert body["next_cursor"] > cursor
            seen.extend(body["items"])
            cursor = body["next_cursor"]
        reputation = b.get(f"/v1/numbers/{number}/reputation")
    assert [item["msisdn"] for item in seen].count(number) == 1
    assert reputation.status_code == 200
    answer = reputation.json()
    assert answer["msisdn"] == number
    assert answer["risk_level"] in {"medium", "high"}
    assert answer["categories"] == ["fraud"]
    assert "E01" not in reputation.text  # nobody learns who reported it


def test_an_unknown_number_has_no_risk(live: LiveServer) -> None:
    with live.client("inspector") as client:
        response = client.get("/v1/numbers/13800138000/reputation")
    assert response.status_code == 200
    assert response.json()["risk_level"] == "none"


def test_the_regulator_confirms_and_clears(live: LiveServer) -> None:
    number = "+8613912340002"
    with live.client("E01") as a, live.client("regulator") as regulator:
        assert a.post("/v1/risk-numbers", json=push_body(number)).status_code == 201
        assert_error(a.post(f"/v1/risk-numbers/{number}/confirm"), 403, "forbidden")
        confirmed = regulator.post(f"/v1/risk-numbers/{number}/confirm")
        assert confirmed.status_code == 200, confirmed.text
        assert confirmed.json()["status"] == "confirmed"
        assert regulator.get(f"/v1/numbers/{number}/reputation").json()["risk_level"] == "high"
        cleared = regulator.post(
            f"/v1/risk-numbers/{number}/clear", json={"reason": "appeal upheld"}
        )
        assert cleared.json()["status"] == "cleared"
        assert regulator.get("/v1/risk-numbers/overdue").status_code == 200
        assert_error(
            regulator.post("/v1/risk-numbers/+8613912349999/confirm"), 404, "unknown_risk_number"
        )


@pytest.fixture(scope="module")
def confirmed_b_number(live: LiveServer) -> str:
    """B's subscriber, reported and confirmed: B must dispose of it, A must not see it."""
    number = "+86" + NUMBER_B
    with live.client("regulator") as regulator:
        assert regulator.post("/v1/risk-numbers", json=push_body(number)).status_code == 201
        assert regulator.post(f"/v1/risk-numbers/{number}/confirm").status_code == 200
    return number


TENANT_ENDPOINTS = [
    ("GET", "/v1/subscribers/{national}", None),
    ("POST", "/v1/risk-numbers/{e164}/dispose", {"action": "suspended"}),
    ("POST", "/v1/risk-numbers/{e164}/dispose", {"action": "cancelled"}),
    ("POST", "/v1/risk-numbers/{e164}/dispose", {"action": "reverified"}),
]


@pytest.mark.parametrize(("method", "template", "body"), TENANT_ENDPOINTS)
def test_another_enterprises_record_answers_404_like_a_missing_one(
    live: LiveServer,
    confirmed_b_number: str,
    method: str,
    template: str,
    body: dict[str, str] | None,
) -> None:
    before = row_counts(live.runtime.database)
    missing = "17090009997"
    with live.client("E01") as a:
        theirs = a.request(
            method, template.format(national=NUMBER_B, e164=confirmed_b_number), json=body
        )
        nothing = a.request(
            method, template.format(national=missing, e164="+86" + missing), json=body
        )
    assert theirs.status_code == 404, theirs.text
    assert nothing.status_code == 404, nothing.text
    assert theirs.json()["error"]["code"] == nothing.json()["error"]["code"]
    after = row_counts(live.runtime.database)
    assert {k: v for k, v in after.items() if k != "audit_log"} == {
        k: v for k, v in before.items() if k != "audit_log"
    }


def test_listings_never_show_another_tenants_records(
    live: LiveServer, confirmed_b_number: str
) -> None:
    with live.client("E01") as a, live.client("E02") as b:
        overdue_a = a.get("/v1/risk-numbers/overdue")
        tasks_a = a.get("/v1/tasks")
        tasks_b = b.get("/v1/tasks")
    assert overdue_a.status_code == tasks_a.status_code == tasks_b.status_code == 200
    assert confirmed_b_number not in overdue_a.text
    assert all(task["enterprise_code"] == "E01" for task in tasks_a.json())
    assert all(task["enterprise_code"] == "E02" for task in tasks_b.json())


def test_listings_come_a_page_at_a_time(live: LiveServer, confirmed_b_number: str) -> None:
    with live.client("regulator") as regulator:
        tasks = [t["task_id"] for t in regulator.get("/v1/tasks").json()]
        first = regulator.get("/v1/tasks", params={"limit": 1}).json()
        then = regulator.get("/v1/tasks", params={"limit": 1, "after": tasks[0]}).json()
        bad = [
            regulator.get(path, params=params)
            for path, params in (
                ("/v1/tasks", {"limit": 0}),
                ("/v1/tasks", {"after": -1}),
                ("/v1/tasks", {"status": "pending"}),
                ("/v1/risk-numbers/overdue", {"limit": 100000}),
                ("/v1/risk-numbers/overdue", {"after": "+8613900000000"}),
            )
        ]
    assert tasks  # the confirmed number linked its holder
    assert [t["task_id"] for t in (*first, *then)] == tasks[:2]
    assert [r.status_code for r in bad] == [422] * 5


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (push_body("12345"), "msisdn"),
        (push_body("not a number"), "msisdn"),
        (push_body("+8613912340003", category="robbery"), "category"),
        (push_body("+8613912340003", score=2), "score"),
        (push_body("+8613912340003", score=-0.1), "score"),
        (push_body("+8613912340003", score=True), "score"),  # not 1.0
        (push_body("+8613912340003", score="0.5"), "score"),  # a number, not text
        (push_body("+8613912340003", evidence=""), "evidence"),
        ({"msisdn": "+8613912340003", "category": "spam"}, "score"),
    ],
)
def test_invalid_pushes_are_refused_and_store_nothing(
    live: LiveServer, body: dict[str, Any], field: str
) -> None:
    before = row_counts(live.runtime.database)
    with live.client("E01") as client:
        response = client.post("/v1/risk-numbers", json=body)
    assert response.status_code in {400, 422}, response.text
    assert response.json()["error"]["field"] == field
    assert row_counts(live.runtime.database) == before


@pytest.mark.parametrize("params", [{"since": -1}, {"limit": 0}, {"limit": 100000}, {"since": "x"}])
def test_bad_feed_parameters_are_422(live: LiveServer, params: dict[str, Any]) -> None:
    with live.client("E02") as client:
        response = client.get("/v1/risk-numbers/changes", params=params)
    assert_error(response, 422, "invalid_input")


def test_an_oversized_push_is_413_and_stores_nothing(live: LiveServer) -> None:
    before = row_counts(live.runtime.database)
    with live.client("E01") as client:
        response = client.post(
            "/v1/risk-numbers", json=push_body("+8613912340004", evidence="x" * 100_000)
        )
    assert_error(response, 413, "body_too_large")
    assert row_counts(live.runtime.database) == before


def test_no_answer_ever_carries_clear_identity_data(
    live: LiveServer, confirmed_b_number: str
) -> None:
    bodies: list[str] = []
    for who in ("regulator", "E01", "E02", "inspector"):
        with live.client(who) as client:
            for path in (
                f"/v1/subscribers/{NUMBER_A}",
                f"/v1/subscribers/{NUMBER_B}",
                f"/v1/numbers/{confirmed_b_number}/reputation",
                f"/v1/numbers/+86{NUMBER_A}/reputation",
                "/v1/risk-numbers/changes?since=0&limit=1000",
                "/v1/risk-numbers/overdue",
                "/v1/tasks",
            ):
                bodies.append(client.get(path).text)
            bodies.append(client.post("/v1/subscribers", json=sign_up_body(NUMBER_A)).text)
    bodies.extend(citizen_answers(live))
    for text in bodies:
        assert_masked(text)


def citizen_answers(live: LiveServer) -> list[str]:
    """Every answer of the citizens' routes, for holder A: asked, checked, disputed, refused."""
    holder = {"doc_type": "RIC", "doc_number": HOLDER_A.number, "name": HOLDER_A.name}
    asker = {**holder, "msisdn": NUMBER_A}
    with live.citizen("127.0.0.21") as client:
        answers = [client.post("/v1/citizen/codes", json=asker)]
        code = live.last_code_to(NUMBER_A)
        answers += [
            client.post("/v1/citizen/checks", json={**asker, "code": code}),
            client.post(
                "/v1/citizen/disputes", json={**asker, "code": code, "disputed_msisdn": NUMBER_B}
            ),
            client.post("/v1/citizen/checks", json={**holder, "msisdn": NUMBER_B, "code": code}),
            client.post("/v1/citizen/codes", json={**asker, "msisdn": "x"}),
        ]
    statuses = [answer.status_code for answer in answers]
    assert statuses == [202, 200, 404, 401, 422], [answer.text for answer in answers]
    return [answer.text for answer in answers]


def test_complaints_count_in_the_reputation_and_repeat_adds_nothing(live: LiveServer) -> None:
    number = "+8613912340010"
    complaint = {
        "reported_number": number,
        "category": "harassment",
        "received_at": "2026-11-20T08:00:00+08:00",
        "text": "calls every night",
    }
    with live.client("E02") as client:
        first = client.post("/v1/complaints", json=complaint)
        again = client.post("/v1/complaints", json=complaint)
        bad = client.post("/v1/complaints", json={**complaint, "category": "weather"})
        reputation = client.get(f"/v1/numbers/{number}/reputation")
    assert first.status_code == 201, first.text
    assert first.json()["duplicate"] is False
    assert again.status_code == 200, again.text  # nothing created
    assert again.json()["duplicate"] is True
    assert again.json()["complaint_id"] == first.json()["complaint_id"]
    assert_error(bad, 422, "invalid_input")
    assert reputation.json()["complaints"] == 1
    with live.client("E02") as client:
        for epoch in ("1700000000", 1700000000):  # Unix seconds are not a time people write
            refused = client.post("/v1/complaints", json={**complaint, "received_at": epoch})
            assert_error(refused, 422, "invalid_input")


def test_a_complaint_sent_again_without_its_time_is_a_duplicate(live: LiveServer) -> None:
    """Without ``received_at`` a complaint is received now: resending it must not count again
    (three sends once confirmed a number on one enterprise's word)."""
    number = "+8613912340012"
    complaint = {"reported_number": number, "reporter_number": "13912340002", "category": "fraud"}
    with live.client("E02") as client:
        sent = [client.post("/v1/complaints", json=complaint) for _ in range(3)]
        reputation = client.get(f"/v1/numbers/{number}/reputation")
    assert [r.status_code for r in sent] == [201, 200, 200]
    assert [r.json()["duplicate"] for r in sent] == [False, True, True]
    assert len({r.json()["complaint_id"] for r in sent}) == 1
    assert reputation.json()["complaints"] == 1


def test_a_complaints_reporter_number_is_sealed_and_not_answered(live: LiveServer) -> None:
    reporter = "13800138077"
    complaint = {
        "reported_number": "+8613912340011",
        "reporter_number": reporter,
        "category": "fraud",
        "received_at": "2026-11-20T09:00:00+08:00",
    }
    with live.client("E02") as client:
        first = client.post("/v1/complaints", json=complaint)
        again = client.post("/v1/complaints", json=complaint)
    assert first.status_code == 201, first.text
    assert again.json() == {**first.json(), "duplicate": True}
    assert reporter not in first.text + again.text
    with live.runtime.database.transaction() as session:
        sealed = session.scalar(
            select(Complaint.reporter_number_sealed).where(
                Complaint.id == first.json()["complaint_id"]
            )
        )
    assert sealed is not None and reporter.encode() not in sealed
    assert live.runtime.vault.decrypt(sealed, context="reporter_number") == f"+86{reporter}"
