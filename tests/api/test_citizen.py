""" "One ID, check all" over HTTP: codes by SMS, masked holdings, locks, rate limits, disputes.

Each test connects from a loopback address of its own, because the server rate-limits code
requests per peer address (5 an hour under the embedded policy).
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest

from mvnoguard.api.routes.citizen import client_key
from mvnoguard.domain.calendar import utc_now
from mvnoguard.registry.registration import SignUp
from mvnoguard.registry.rules import PresentedDocument
from tests.api.conftest import HOLDER_A, HOLDER_B, NUMBER_A, NUMBER_B, LiveServer
from tests.api.test_subscribers import assert_error, assert_masked
from tests.registry.builders import ric, row_counts

# Holder A also holds a number at E02; holder C (one number at E01) is the one the lock test
# locks, so the other tests never meet the lock.
NUMBER_A_E02 = "17000000002"
NUMBER_C = "17090000003"
HOLDER_C = PresentedDocument("RIC", ric(sequence=321), name="陈静")
NOBODY = ric(region="310101", sequence=999)


def who(holder: PresentedDocument, msisdn: str, **changes: Any) -> dict[str, Any]:
    assert holder.name is not None
    body: dict[str, Any] = {
        "doc_type": holder.doc_type,
        "doc_number": holder.number,
        "name": holder.name,
        "msisdn": msisdn,
    }
    return body | changes


@pytest.fixture(scope="module", autouse=True)
def more_holders(live: LiveServer) -> None:
    with live.runtime.database.transaction() as session:
        for number, enterprise, holder in (
            (NUMBER_A_E02, "E02", HOLDER_A),
            (NUMBER_C, "E01", HOLDER_C),
        ):
            live.runtime.registration.register(
                session,
                SignUp(
                    msisdn=number,
                    enterprise_code=enterprise,
                    outlet_code=f"{enterprise}-OWN",
                    holder=holder,
                    verification_method="reader",
                    face_score=0.95,
                    at=utc_now() - timedelta(hours=1),
                ),
                actor="t",
            )


def test_a_code_by_sms_then_every_number_masked(live: LiveServer) -> None:
    with live.citizen("127.0.0.11") as client:
        asked = client.post("/v1/citizen/codes", json=who(HOLDER_A, NUMBER_A))
        assert asked.status_code == 202, asked.text
        code = live.last_code_to(NUMBER_A)
        checked = client.post("/v1/citizen/checks", json=who(HOLDER_A, NUMBER_A, code=code))
    assert checked.status_code == 200, checked.text
    assert checked.json() == {
        "total": 2,
        "enterprises": [
            {
                "enterprise_code": "E01",
                "enterprise_name": "远岸移动",
                "count": 1,
                "numbers": ["170****0001"],
            },
            {
                "enterprise_code": "E02",
                "enterprise_name": "青禾通信",
                "count": 1,
                "numbers": ["170****0002"],
            },
        ],
    }
    assert_masked(asked.text + checked.text)
    assert NUMBER_A not in checked.text and NUMBER_A_E02 not in checked.text
    assert code not in checked.text


def test_the_code_answer_is_the_same_whether_or_not_anything_matched(live: LiveServer) -> None:
    sent_before = len(live.outbox())
    with live.citizen("127.0.0.12") as client:
        answers = [
            client.post("/v1/citizen/codes", json=body)
            for body in (
                who(HOLDER_B, NUMBER_B),  # theirs: a code goes out
                who(HOLDER_B, NUMBER_B, name="李秀华"),  # another name on the right document
                who(HOLDER_B, NUMBER_A),  # somebody else's number
                who(HOLDER_B, NUMBER_B, doc_number=NOBODY),  # nobody's document
            )
        ]
    assert {(a.status_code, a.text) for a in answers} == {(202, answers[0].text)}
    sent = live.outbox()[sent_before:]
    assert [message["to"] for message in sent] == [f"+86{NUMBER_B}"]


def test_a_passport_holder_names_the_state_that_issued_it(live: LiveServer) -> None:
    number = "17090000044"
    passport = PresentedDocument("PASSPORT", "E55554444", "USA", "Mary Jones", date(1975, 5, 5))
    with live.runtime.database.transaction() as session:
        live.runtime.registration.register(
            session,
            SignUp(
                msisdn=number,
                enterprise_code="E01",
                outlet_code="E01-OWN",
                holder=passport,
                verification_method="reader",
                face_score=0.95,
                at=utc_now() - timedelta(hours=1),
            ),
            actor="t",
        )
    sent_before = len(live.outbox())
    with live.citizen("127.0.0.18") as client:
        stateless = client.post("/v1/citizen/codes", json=who(passport, number))
        assert_error(stateless, 422, "bad_nationality")
        assert len(live.outbox()) == sent_before
        asked = client.post("/v1/citizen/codes", json=who(passport, number, nationality="US"))
        assert asked.status_code == 202, asked.text
        code = live.last_code_to(number)
        checked = client.post(
            "/v1/citizen/checks", json=who(passport, number, nationality="USA", code=code)
        )
    assert checked.status_code == 200, checked.text
    assert checked.json()["total"] == 1


def test_wrong_codes_are_401_then_the_identity_is_locked_429(live: LiveServer) -> None:
    with live.citizen("127.0.0.13") as client:
        assert client.post("/v1/citizen/codes", json=who(HOLDER_C, NUMBER_C)).status_code == 202
        code = live.last_code_to(NUMBER_C)
        wrong = "000000" if code != "000000" else "111111"
        for _ in range(5):
            refused = client.post("/v1/citizen/checks", json=who(HOLDER_C, NUMBER_C, code=wrong))
            assert_error(refused, 401, "bad_code")
        locked = client.post("/v1/citizen/checks", json=who(HOLDER_C, NUMBER_C, code=code))
        dispute = client.post(
            "/v1/citizen/disputes",
            json=who(HOLDER_C, NUMBER_C, code=code, disputed_msisdn=NUMBER_C),
        )
        asked = client.post("/v1/citizen/codes", json=who(HOLDER_C, NUMBER_C))
    for response in (locked, dispute, asked):
        assert_error(response, 429, "locked")
        assert 3500 < int(response.headers["retry-after"]) <= 3600
        assert_masked(response.text)


def test_code_requests_are_rate_limited_per_client_and_per_identity(live: LiveServer) -> None:
    with live.citizen("127.0.0.14") as client:
        for n in range(5):
            body = who(HOLDER_B, NUMBER_B, doc_number=ric(region="310101", sequence=n))
            assert client.post("/v1/citizen/codes", json=body).status_code == 202
        before = row_counts(live.runtime.database)
        refused = client.post("/v1/citizen/codes", json=who(HOLDER_B, NUMBER_B))
        assert_error(refused, 429, "rate_limited")
        assert 3500 < int(refused.headers["retry-after"]) <= 3600
        assert row_counts(live.runtime.database) == before
    asker = who(HOLDER_B, NUMBER_B, doc_number=ric(region="320102", sequence=7))
    for n in range(5):
        with live.citizen(f"127.0.1.{n + 1}") as client:
            assert client.post("/v1/citizen/codes", json=asker).status_code == 202
    before = row_counts(live.runtime.database)
    with live.citizen("127.0.1.99") as client:
        per_identity = client.post("/v1/citizen/codes", json=asker)
    assert_error(per_identity, 429, "rate_limited")
    assert row_counts(live.runtime.database) == before


def test_a_dispute_is_a_task_that_only_the_holding_enterprise_sees(live: LiveServer) -> None:
    with live.citizen("127.0.0.15") as client:
        assert client.post("/v1/citizen/codes", json=who(HOLDER_A, NUMBER_A)).status_code == 202
        code = live.last_code_to(NUMBER_A)
        opened = client.post(
            "/v1/citizen/disputes",
            json=who(HOLDER_A, NUMBER_A, code=code, disputed_msisdn=NUMBER_A_E02),
        )
        again = client.post(
            "/v1/citizen/disputes",
            json=who(HOLDER_A, NUMBER_A, code=code, disputed_msisdn=NUMBER_A_E02),
        )
        not_theirs = client.post(
            "/v1/citizen/disputes",
            json=who(HOLDER_A, NUMBER_A, code=code, disputed_msisdn=NUMBER_B),
        )
    assert opened.status_code == 201, opened.text
    task = opened.json()
    assert (task["enterprise_code"], task["msisdn"], task["created"]) == (
        "E02",
        "170****0002",
        True,
    )
    assert (again.json()["task_id"], again.json()["created"]) == (task["task_id"], False)
    assert_error(not_theirs, 404, "unknown_subscriber")
    with live.client("E02") as e02, live.client("E01") as e01, live.client("regulator") as reg:
        seen_by_e02 = e02.get("/v1/tasks", params={"kind": "dispute"}).json()
        seen_by_e01 = e01.get("/v1/tasks", params={"kind": "dispute"}).json()
        seen_by_regulator = reg.get("/v1/tasks", params={"kind": "dispute"}).json()
    assert [(t["task_id"], t["msisdn"]) for t in seen_by_e02] == [(task["task_id"], "170****0002")]
    assert seen_by_e01 == []
    assert [t["task_id"] for t in seen_by_regulator] == [task["task_id"]]
    assert_masked(opened.text + str(seen_by_e02) + str(seen_by_regulator))


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/v1/citizen/codes", {"doc_type": "RIC", "name": "王小明"}, "doc_number"),
        ("/v1/citizen/codes", who(HOLDER_A, NUMBER_A, extra=1), "extra"),
        ("/v1/citizen/codes", who(HOLDER_A, "+1 415 555 0123"), "msisdn"),
        ("/v1/citizen/codes", who(HOLDER_A, "not a number"), "msisdn"),
        ("/v1/citizen/codes", who(HOLDER_A, NUMBER_A, name="  "), "name"),
        ("/v1/citizen/codes", who(HOLDER_A, NUMBER_A, doc_number="1" * 65), "doc_number"),
        ("/v1/citizen/checks", who(HOLDER_A, NUMBER_A), "code"),
        ("/v1/citizen/disputes", who(HOLDER_A, NUMBER_A, code="123456"), "disputed_msisdn"),
    ],
)
def test_refused_input_is_422_stores_nothing_and_echoes_nothing(
    live: LiveServer, path: str, body: dict[str, Any], field: str
) -> None:
    before = row_counts(live.runtime.database)
    sent_before = len(live.outbox())
    with live.citizen("127.0.0.16") as client:
        response = client.post(path, json=body)
    assert response.status_code == 422, response.text
    assert response.json()["error"]["field"] == field
    assert_masked(response.text)
    assert row_counts(live.runtime.database) == before
    assert len(live.outbox()) == sent_before


def test_citizen_routes_need_no_key_and_are_documented(live: LiveServer) -> None:
    with live.citizen("127.0.0.17") as client:
        schema = client.get("/openapi.json").json()
    for path in ("/v1/citizen/codes", "/v1/citizen/checks", "/v1/citizen/disputes"):
        operation = schema["paths"][path]["post"]
        assert "security" not in operation
        assert "429" in operation["responses"]


@pytest.mark.parametrize(
    ("peer", "counted_as"),
    [
        ("203.0.113.7", "203.0.113.7"),
        ("2001:db8:1:2:aaaa::1", "2001:db8:1:2::/64"),
        ("2001:db8:1:2:ffff:ffff:ffff:ffff", "2001:db8:1:2::/64"),
        ("::ffff:203.0.113.7", "203.0.113.7"),
        ("testclient", "testclient"),
    ],
)
def test_an_ipv6_line_is_one_client_for_the_rate_limits(peer: str, counted_as: str) -> None:
    """A line is given a whole IPv6 /64: its addresses share one allowance of codes."""
    assert client_key(peer) == counted_as
