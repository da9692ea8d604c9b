"""``/v1/subscribers`` over HTTP: masked records, tenant isolation, point-of-sale sign-up."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from mvnoguard.storage.models import AuditEntry
from tests.api.conftest import HOLDER_A, HOLDER_B, NUMBER_A, NUMBER_B, LiveServer
from tests.registry.builders import ric, row_counts

CLEAR_IDENTITY = [HOLDER_A.number, HOLDER_A.name, HOLDER_B.number, HOLDER_B.name]


def assert_masked(text: str) -> None:
    for clear in CLEAR_IDENTITY:
        assert clear and clear not in text


def assert_error(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"}
    assert body["error"]["code"] == code
    assert isinstance(body["error"]["message"], str)
    error: dict[str, Any] = body["error"]
    return error


def sign_up_body(msisdn: str, **changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "msisdn": msisdn,
        "outlet_code": "E01-OWN",
        "holder": {"doc_type": "RIC", "number": ric(sequence=789), "name": "赵六一"},
        "verification_method": "reader",
        "face_score": 0.92,
    }
    body.update(changes)
    return body


def test_an_enterprise_reads_its_own_number_masked(live: LiveServer) -> None:
    with live.client("E01") as client:
        response = client.get(f"/v1/subscribers/{NUMBER_A}")
    assert response.status_code == 200, response.text
    record = response.json()
    assert record["msisdn"] == NUMBER_A
    assert record["enterprise_code"] == "E01"
    assert record["holder"]["doc_number"] != HOLDER_A.number
    assert "*" in record["holder"]["doc_number"]
    assert_masked(response.text)


def test_another_enterprises_number_answers_404(live: LiveServer) -> None:
    with live.client("E01") as client:
        other = client.get(f"/v1/subscribers/{NUMBER_B}")
        missing = client.get("/v1/subscribers/17090009998")
    assert_error(other, 404, "unknown_subscriber")
    assert_error(missing, 404, "unknown_subscriber")
    assert other.json() == {
        "error": {**missing.json()["error"], "message": f"no subscriber on {NUMBER_B}"}
    }


def test_the_regulator_reads_every_number(live: LiveServer) -> None:
    with live.client("regulator") as client:
        for number in (NUMBER_A, NUMBER_B):
            response = client.get(f"/v1/subscribers/{number}")
            assert response.status_code == 200
            assert_masked(response.text)


def test_an_inspector_may_not_read_records(live: LiveServer) -> None:
    with live.client("inspector") as client:
        assert_error(client.get(f"/v1/subscribers/{NUMBER_A}"), 403, "forbidden")


def test_a_point_of_sale_sign_up_is_registered_and_answered_masked(live: LiveServer) -> None:
    with live.client("E01") as client:
        response = client.post("/v1/subscribers", json=sign_up_body("17090000100"))
        assert response.status_code == 201, response.text
        record = response.json()
        assert record["msisdn"] == "17090000100"
        assert record["enterprise_code"] == "E01"
        assert record["history"][0]["kind"] == "activated"
        assert ric(sequence=789) not in response.text and "赵六一" not in response.text
        again = client.get("/v1/subscribers/17090000100")
    assert again.status_code == 200
    assert again.json() == record  # the sign-up's answer is the record a view then shows


def test_a_sign_up_answer_needs_no_view_entry_a_read_does(live: LiveServer) -> None:
    def actions() -> list[str]:
        with live.runtime.database.engine.connect() as conn:
            rows = conn.execute(
                select(AuditEntry.action)
                .where(AuditEntry.subject == "17090000101")
                .order_by(AuditEntry.id)
            )
            return [row.action for row in rows]

    with live.client("E01") as client:
        assert client.post("/v1/subscribers", json=sign_up_body("17090000101")).status_code == 201
        assert actions() == ["subscriber.activated"]
        assert client.get("/v1/subscribers/17090000101").status_code == 200
    assert actions() == ["subscriber.activated", "subscriber.view"]


def test_a_refused_sign_up_names_the_rule_and_stores_nothing(live: LiveServer) -> None:
    before = row_counts(live.runtime.database)
    with live.client("E01") as client:
        manual = client.post(
            "/v1/subscribers", json=sign_up_body("17090000200", verification_method="manual")
        )
        outside = client.post("/v1/subscribers", json=sign_up_body("17000000200"))
        other_outlet = client.post(
            "/v1/subscribers", json=sign_up_body("17090000201", outlet_code="E02-OWN")
        )
    assert_error(manual, 422, "manual_entry_forbidden")
    assert manual.json()["error"]["details"]["rule"] == "manual_entry_forbidden"
    assert outside.status_code == 422
    assert other_outlet.status_code == 422
    for response in (manual, outside, other_outlet):
        assert ric(sequence=789) not in response.text
    assert row_counts(live.runtime.database) == before


def test_only_enterprise_keys_sign_up(live: LiveServer) -> None:
    before = row_counts(live.runtime.database)
    with live.client("regulator") as client:
        response = client.post("/v1/subscribers", json=sign_up_body("17090000300"))
    assert_error(response, 403, "forbidden")
    assert row_counts(live.runtime.database) == before


def name_checks(live: LiveServer, msisdn: str) -> list[str]:
    """The audit entries of name comparisons for sign-ups of ``msisdn``."""
    with live.runtime.database.transaction() as session:
        return list(
            session.scalars(
                select(AuditEntry.detail).where(
                    AuditEntry.action == "identity.match", AuditEntry.subject == f"msisdn:{msisdn}"
                )
            )
        )


def test_a_sign_up_refused_on_the_name_is_audited_and_tells_no_name(live: LiveServer) -> None:
    """The stored name was read to compare it: the refusal leaves an audit entry all the same
    (guessing names leaves a trace), and the answer holds no name."""
    holder = {"doc_type": "RIC", "number": ric(sequence=791), "name": "赵六一"}
    with live.client("E01") as client:
        first = client.post("/v1/subscribers", json=sign_up_body("17090000700", holder=holder))
        other_name = {**holder, "name": "张三"}
        refused = client.post(
            "/v1/subscribers", json=sign_up_body("17090000701", holder=other_name)
        )
    assert first.status_code == 201, first.text
    assert refused.status_code == 422
    assert refused.json()["error"]["code"] == "name_mismatch"
    assert "赵" not in refused.text and "张" not in refused.text
    assert name_checks(live, "17090000701") == [
        "sign-up refused (name_mismatch) after the holder's name was compared with the stored one"
    ]


def test_a_sign_up_refused_on_the_card_limit_audits_its_name_comparison(
    live: LiveServer,
) -> None:
    holder = {"doc_type": "RIC", "number": ric(sequence=792), "name": "钱七"}
    with live.client("E01") as client:
        answers = [
            client.post("/v1/subscribers", json=sign_up_body(f"1709000072{i}", holder=holder))
            for i in range(6)
        ]
    assert [a.status_code for a in answers] == [201] * 5 + [422]
    assert answers[-1].json()["error"]["code"] == "card_limit_exceeded"
    assert name_checks(live, "17090000725") == [
        "sign-up refused (card_limit_exceeded) after the holder's name was compared with the "
        "stored one"
    ]
