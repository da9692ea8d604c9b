"""Sign-ups under the real-name rules, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

import pytest
from sqlalchemy import func, select

from mvnoguard.domain.subscribers import HostNetwork, OutletKind
from mvnoguard.errors import InvalidInput, NotFound, RegistrationRefused
from mvnoguard.registry import catalog
from mvnoguard.registry.registration import RegistrationService, SignUp, compared_name
from mvnoguard.registry.rules import PresentedDocument
from mvnoguard.storage.database import Database
from mvnoguard.storage.models import AuditEntry, Identity, ReviewTask, Subscriber, Verification
from tests.registry.builders import holder, ric, row_counts, sign_up
from tests.threads import at_once


def register(market: Database, service: RegistrationService, request: SignUp) -> Subscriber:
    with market.transaction() as session:
        return service.register(session, request, actor="test").subscriber


def assert_refused(
    market: Database, service: RegistrationService, request: SignUp, code: str
) -> RegistrationRefused:
    before = row_counts(market)
    with pytest.raises(RegistrationRefused) as caught:
        register(market, service, request)
    assert caught.value.code == code
    assert row_counts(market) == before, "a refused sign-up must leave the store unchanged"
    return caught.value


def test_lawful_sign_up_stores_encrypted_identity_and_evidence(
    market: Database, service: RegistrationService
) -> None:
    subscriber = register(market, service, sign_up("17090000001"))
    with market.transaction() as session:
        identity = session.get(Identity, subscriber.identity_id)
        assert identity is not None
        assert identity.number_masked == "1101**********" + ric()[-4:]
        assert identity.name_masked == "王**"
        assert identity.number_ciphertext is not None
        assert ric().encode() not in identity.number_ciphertext
        evidence = session.scalars(select(Verification)).all()
        assert [(v.method, v.face_score, v.purpose) for v in evidence] == [
            ("reader", 0.91, "activated")
        ]
        assert service.vault.decrypt(identity.number_ciphertext, context="doc_number") == ric()


def test_sixth_card_refused_at_one_enterprise_and_accepted_at_another(
    market: Database, service: RegistrationService
) -> None:
    for i in range(5):
        register(market, service, sign_up(f"1709000010{i}"))
    refusal = assert_refused(market, service, sign_up("17090000200"), "card_limit_exceeded")
    assert refusal.details["held"] == 5
    other = register(
        market, service, sign_up("17000000001", enterprise_code="E02", outlet_code="E02-OWN")
    )
    assert other.status == "active"


def test_cancelled_cards_do_not_count_towards_the_limit(
    market: Database, service: RegistrationService, lifecycle: Any
) -> None:
    for i in range(5):
        register(market, service, sign_up(f"1709000010{i}"))
    with market.transaction() as session:
        lifecycle.cancel(
            session, "17090000100", reason="holder left", at=sign_up("x").at, actor="t"
        )
    assert register(market, service, sign_up("17090000200")).status == "active"


@pytest.mark.parametrize(
    ("changes", "code"),
    [
        ({"verification_method": "manual"}, "manual_entry_forbidden"),
        ({"verification_method": "none"}, "verification_missing"),
        ({"face_score": 0.79}, "face_check_failed"),
        ({"face_score": None}, "face_check_failed"),
        ({"outlet_code": "E01-AGT", "face_score": 0.5}, "face_check_failed"),
        ({"holder": holder(birth="20050101")}, "minor_without_guardian"),
        ({"msisdn": "17000000500"}, "number_outside_blocks"),
        ({"msisdn": "13800138000"}, "number_outside_blocks"),
        ({"outlet_code": "E01-BAD"}, "outlet_blacklisted"),
        ({"outlet_code": "E01-NOAUTH"}, "unauthorized_outlet"),
        ({"outlet_code": "E02-OWN"}, "unauthorized_outlet"),
        ({"outlet_code": "NOWHERE"}, "unauthorized_outlet"),
        ({"outlet_code": "E01-SUB"}, "sub_delegated_outlet"),
        ({"holder": PresentedDocument("RIC", ric()[:-1] + "0")}, "invalid_document"),
        ({"holder": PresentedDocument("RIC", "110101900307123")}, "invalid_document"),
        ({"holder": PresentedDocument("DRIVING", "12345")}, "document_type_not_accepted"),
        ({"holder": PresentedDocument("PASSPORT", "E1234567", "USA")}, "birth_date_missing"),
        (
            {"holder": holder(birth="20050101"), "guardian": PresentedDocument("RIC", "123")},
            "invalid_guardian_document",
        ),
        ({"agent": PresentedDocument("HKMO", "X123")}, "invalid_agent_document"),
        ({"holder": PresentedDocument("RIC", ric(sequence=9))}, "missing_name"),
        ({"holder": PresentedDocument("RIC", ric(sequence=9), name="   ")}, "missing_name"),
        (  # a minor's guardian is another person
            {"holder": holder(birth="20050101"), "guardian": holder(birth="20050101")},
            "invalid_guardian_document",
        ),
        (  # and an adult
            {"holder": holder(birth="20050101"), "guardian": holder(birth="20000101", sequence=5)},
            "invalid_guardian_document",
        ),
        (
            {"holder": PresentedDocument("PASSPORT", "E1234567", "USA", "J", date(2999, 1, 1))},
            "implausible_birth_date",
        ),
        (
            {"holder": PresentedDocument("PASSPORT", "E1234567", "USA", "J", date(1800, 1, 1))},
            "implausible_birth_date",
        ),
    ],
)
def test_each_rule_refuses_with_its_own_code(
    market: Database, service: RegistrationService, changes: dict[str, Any], code: str
) -> None:
    changes = {"msisdn": "17090000001", **changes}
    assert_refused(market, service, sign_up(**changes), code)


def test_invalid_document_names_the_validator_reason(
    market: Database, service: RegistrationService
) -> None:
    request = sign_up("17090000001", holder=PresentedDocument("RIC", "110101900307123"))
    refusal = assert_refused(market, service, request, "invalid_document")
    assert refusal.details["reason"] == "first_generation_card"


def test_online_sign_up_needs_no_face_score_and_threshold_is_inclusive(
    market: Database, service: RegistrationService
) -> None:
    online = sign_up(
        "17090000001", outlet_code="E01-WEB", face_score=None, verification_method="online"
    )
    assert register(market, service, online).status == "active"
    at_threshold = sign_up("17090000002", face_score=0.80)
    assert register(market, service, at_threshold).face_score == 0.80


def test_minor_with_guardian_records_both_documents(
    market: Database, service: RegistrationService
) -> None:
    guardian = PresentedDocument(
        "RIC", ric(region="440106", birth="19750612", sequence=789), name="李建国"
    )
    minor = sign_up("17090000001", holder=holder(birth="20050101", name="李想"), guardian=guardian)
    subscriber = register(market, service, minor)
    assert subscriber.guardian_identity_id is not None
    assert subscriber.guardian_identity_id != subscriber.identity_id


def test_agent_registration_records_both_documents(
    market: Database, service: RegistrationService
) -> None:
    agent = PresentedDocument("HKMO", "H12345678", name="陈大文")
    subscriber = register(market, service, sign_up("17090000001", agent=agent))
    with market.transaction() as session:
        recorded = session.get(Identity, subscriber.agent_identity_id)
        assert recorded is not None and recorded.doc_type == "HKMO"


def test_number_in_use_and_unknown_enterprise(
    market: Database, service: RegistrationService
) -> None:
    register(market, service, sign_up("17090000001"))
    assert_refused(market, service, sign_up("17090000001", holder=holder(7)), "number_in_use")
    with pytest.raises(NotFound) as caught:
        register(market, service, sign_up("17090000002", enterprise_code="E99"))
    assert caught.value.code == "unknown_enterprise"
    with pytest.raises(InvalidInput) as bad_number:
        register(market, service, sign_up("not-a-number"))
    assert bad_number.value.code == "invalid_number"


def test_many_cards_market_wide_raise_a_review_task(
    market: Database, service: RegistrationService
) -> None:
    for i in range(5):
        register(market, service, sign_up(f"1709000010{i}"))
    for i in range(5):
        register(
            market, service, sign_up(f"1700000010{i}", enterprise_code="E02", outlet_code="E02-OWN")
        )
    with market.transaction() as session:
        assert session.scalars(select(ReviewTask)).all() == []
        catalog.upsert_enterprise(
            session, catalog.EnterpriseSpec("E03", "三号通信", HostNetwork.MOBILE), actor="test"
        )
        catalog.add_block(session, "E03", "17050000000", "17050009999", actor="test")
        catalog.upsert_outlet(
            session, catalog.OutletSpec("E03-OWN", "E03", OutletKind.OWN), actor="test"
        )
    eleventh = sign_up("17050000001", enterprise_code="E03", outlet_code="E03-OWN")
    with market.transaction() as session:
        registration = service.register(session, eleventh, actor="test")
        assert registration.subscriber.status == "active"
        assert registration.review_task is not None
        assert "11 live cards" in registration.review_task.reason
        tasks = session.scalars(select(ReviewTask)).all()
        assert [(t.kind, t.status) for t in tasks] == [("card_count_review", "open")]


def test_sign_ups_at_the_same_moment_keep_the_card_limit(
    market: Database, service: RegistrationService
) -> None:
    """Eight counters sign one new holder up at once: five cards, three refusals, no crash."""
    done, failed = at_once(8, lambda i: register(market, service, sign_up(f"1709000030{i}")).msisdn)
    assert len(done) == 5
    assert [getattr(f, "code", repr(f)) for f in failed] == ["card_limit_exceeded"] * 3
    with market.transaction() as session:
        assert session.scalar(select(func.count(Identity.id))) == 1
        live = session.scalars(select(Subscriber.msisdn).where(Subscriber.status == "active"))
        assert sorted(live) == sorted(done)


def test_one_number_signed_up_by_many_at_once_goes_to_one(
    market: Database, service: RegistrationService
) -> None:
    done, failed = at_once(
        4, lambda i: register(market, service, sign_up("17090000400", holder=holder(200 + i)))
    )
    assert len(done) == 1
    assert [getattr(f, "code", repr(f)) for f in failed] == ["number_in_use"] * 3


def test_one_document_one_name(market: Database, service: RegistrationService) -> None:
    register(market, service, sign_up("17090000500"))  # 王小明
    refusal = assert_refused(
        market, service, sign_up("17090000501", holder=holder(name="张三")), "name_mismatch"
    )
    assert "王" not in refusal.message  # the stored name is never told
    # Width, case and spaces are not a different name.
    other = register(market, service, sign_up("17090000502", holder=holder(name=" 王 小明 ")))
    assert other.status == "active"
    with market.transaction() as session:
        compared = session.scalars(
            select(AuditEntry.detail).where(AuditEntry.action == "identity.match")
        ).all()
    assert compared == ["activated: the holder's name compared with the stored one"]


def test_a_name_longer_than_any_document_holds_is_refused(
    market: Database, service: RegistrationService
) -> None:
    """The masked name is stored in 64 characters: a longer name is refused on both stores
    (PostgreSQL would fail the write), the longest one taken whole."""
    longest = "A" * 32 + " " + "B" * 31
    for name, field in ((longest + "C", "name"), ("王" * 65, "name")):
        refusal = assert_refused(
            market, service, sign_up("17090000510", holder=holder(name=name)), "name_too_long"
        )
        assert refusal.field == field
    parent = PresentedDocument("RIC", holder(sequence=43).number, name="李" * 80)
    child = holder(birth="20100101", sequence=44, name="张小")
    refusal = assert_refused(
        market, service, sign_up("17090000511", holder=child, guardian=parent), "name_too_long"
    )
    assert refusal.field == "guardian_name"
    kept = register(market, service, sign_up("17090000512", holder=holder(name=longest)))
    assert kept.status == "active"
    with market.transaction() as session:
        masked = session.scalar(
            select(Identity.name_masked).join(Subscriber, Subscriber.identity_id == Identity.id)
        )
    assert masked == "A" + "*" * 31 + " B" + "*" * 30


def test_a_refusal_after_a_right_name_says_the_name_was_compared(
    market: Database, service: RegistrationService
) -> None:
    """A refusal that follows the holder's name comparison tells the name was right: it is
    marked, so the caller audits the comparison, whatever its code; a refusal before it is not.
    """
    register(market, service, sign_up("17090000520"))  # 王小明
    too_long = PresentedDocument("RIC", holder(sequence=45).number, name="李" * 70)
    after = assert_refused(market, service, sign_up("17090000521", agent=too_long), "name_too_long")
    stranger = sign_up("17090000522", holder=holder(sequence=46), agent=too_long)
    before = assert_refused(market, service, stranger, "name_too_long")  # a holder never seen
    blank = assert_refused(
        market, service, sign_up("17090000523", holder=holder(name=" ")), "missing_name"
    )
    assert (compared_name(after), compared_name(before), compared_name(blank)) == (
        True,
        False,
        False,
    )
    with pytest.raises(RegistrationRefused) as same, market.transaction() as session:
        service.transfer(session, sign_up("17090000520"), actor="test")
    assert (same.value.code, compared_name(same.value)) == ("same_holder", True)
    with pytest.raises(NotFound), market.transaction() as session:  # before any comparison
        service.transfer(session, sign_up("17090000529"), actor="test")


def test_two_states_passports_with_one_number_are_not_merged(
    market: Database, service: RegistrationService
) -> None:
    """A passport is numbered by the state that issued it: one number of two states is two
    people, each with a name and a card count of their own."""

    def passport(state: str, name: str) -> PresentedDocument:
        return PresentedDocument("PASSPORT", "E12345678", state, name, date(1980, 1, 1))

    american = register(
        market, service, sign_up("17090000600", holder=passport("USA", "John Smith"))
    )
    briton = register(market, service, sign_up("17090000601", holder=passport("GB", "Ann Lee")))
    again = register(market, service, sign_up("17090000602", holder=passport("USA", "John Smith")))
    assert [r.status for r in (american, briton, again)] == ["active"] * 3
    assert_refused(  # the American's name stays his: another name on his passport is refused
        market, service, sign_up("17090000603", holder=passport("USA", "Ann Lee")), "name_mismatch"
    )
    with market.transaction() as session:
        held = {
            msisdn: (identity_id, nationality)
            for msisdn, identity_id, nationality in session.execute(
                select(Subscriber.msisdn, Subscriber.identity_id, Identity.nationality).join(
                    Identity, Identity.id == Subscriber.identity_id
                )
            )
        }
    assert held["17090000600"] == held["17090000602"]
    assert held["17090000601"][1] == "GBR"  # alpha-2 given, alpha-3 kept
    assert held["17090000601"][0] != held["17090000600"][0]


def test_an_organisation_signs_up_without_an_age(
    market: Database, service: RegistrationService
) -> None:
    company = PresentedDocument("USCC", "91350100M000100Y43", name="某某科技有限公司")
    assert register(market, service, sign_up("17090000701", holder=company)).status == "active"


def test_a_sign_up_is_never_dated_ahead_of_the_clock(
    market: Database, service: RegistrationService
) -> None:
    for at, code in (
        (datetime(2099, 1, 1, tzinfo=UTC), "future_time"),
        (datetime(1, 1, 1, tzinfo=timezone(timedelta(hours=9))), "invalid_input"),
    ):
        with market.transaction() as session, pytest.raises(InvalidInput) as refused:
            service.register(session, sign_up("17090000702", at=at), actor="test")
        assert (refused.value.code, refused.value.field) == (code, "at")


def test_a_guardian_is_held_to_the_name_stored_with_the_document(
    market: Database, service: RegistrationService
) -> None:
    """One document, one name, whoever shows it: the parent signed up as 张三 cannot be a
    guardian as 李四, and the comparison is audited."""
    parent = holder(birth="19800101", sequence=41, name="张三")
    register(market, service, sign_up("17090000801", holder=parent))
    child = holder(birth="20100101", sequence=42, name="张小")
    wrong = PresentedDocument("RIC", parent.number, name="李四")
    refusal = assert_refused(
        market, service, sign_up("17090000802", holder=child, guardian=wrong), "name_mismatch"
    )
    assert refusal.field == "guardian_name"
    right = PresentedDocument("RIC", parent.number, name="张三")
    register(market, service, sign_up("17090000803", holder=child, guardian=right))
    with market.transaction() as session:
        compared = session.scalars(
            select(AuditEntry.detail).where(AuditEntry.action == "identity.match")
        ).all()
    assert "activated: the guardian's name compared with the stored one" in compared
