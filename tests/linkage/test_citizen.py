""" "One ID, check all": codes through the outbox, the holdings, locks, rate limits, disputes."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from mvnoguard.domain.policy import Policy
from mvnoguard.errors import InvalidInput, NotFound, RateLimited, Unauthorized
from mvnoguard.identity.vault import PiiVault
from mvnoguard.linkage import citizen
from mvnoguard.linkage.citizen import OutboxSender
from mvnoguard.linkage.identity_links import tasks_for
from mvnoguard.registry.identities import rotate_keys
from mvnoguard.registry.registration import RegistrationService
from mvnoguard.registry.rules import PresentedDocument
from mvnoguard.storage.audit_log import verify_chain
from mvnoguard.storage.database import Database
from mvnoguard.storage.models import AuditEntry, CitizenCode
from tests.linkage.conftest import A_E01, A_E02, B_E01, E01, E02, HOLDER_A, HOLDER_B, NOW
from tests.registry.builders import row_counts, sign_up
from tests.threads import at_once

A = {"doc_type": "RIC", "doc_number": HOLDER_A.number, "name": "王小明", "msisdn": A_E01}
WHO_A = citizen.Asker(**A)


def outbox(folder: Path) -> list[dict[str, Any]]:
    path = folder / "sms.jsonl"
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def code_in(message: dict[str, Any]) -> str:
    return next(word for word in message["text"].split() if word.rstrip(";").isdigit()).rstrip(";")


def ask(
    db: Database,
    vault: PiiVault,
    policy: Policy,
    folder: Path,
    client: str = "10.0.0.1",
    **who: Any,
) -> None:
    with db.transaction() as session:
        citizen.request_code(
            session,
            vault,
            OutboxSender(folder),
            client=client,
            now=NOW,
            policy=policy,
            who=citizen.Asker(**(A | who)),
        )


def test_a_holder_sees_every_number_under_their_identity(
    market: Database, vault: PiiVault, policy: Policy, tmp_path: Path
) -> None:
    ask(market, vault, policy, tmp_path)
    [message] = outbox(tmp_path)
    assert message["to"] == f"+86{A_E01}"
    code = code_in(message)
    assert len(code) == 6
    with market.transaction() as session:
        view = citizen.check_all(
            session,
            vault,
            code=code,
            client="web",
            now=NOW + timedelta(minutes=5),
            policy=policy,
            who=WHO_A,
        )
        stored = session.scalars(select(CitizenCode.code_hash)).all()
        assert verify_chain(session).ok
    assert view.to_json() == {
        "total": 3,
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
                "numbers": ["170****0001"],
            },
            {
                "enterprise_code": "E03",
                "enterprise_name": "北辰通信",
                "count": 1,
                "numbers": ["162****0001"],
            },
        ],
    }
    assert code not in str(stored)  # kept as a keyed hash only


@pytest.mark.parametrize(
    "who",
    [
        {"name": "王大明"},  # the right document and number, another name
        {"msisdn": B_E01},  # somebody else's number
        {
            "doc_number": HOLDER_B.number,
            "name": "李华",
            "msisdn": A_E02,
        },  # B's identity, A's number
        {"doc_number": "110101199001011237"},  # nobody's document
    ],
)
def test_no_code_unless_the_number_is_theirs_and_the_answer_is_the_same(
    market: Database, vault: PiiVault, policy: Policy, tmp_path: Path, who: dict[str, str]
) -> None:
    ask(market, vault, policy, tmp_path, **who)  # returns None, as for a match
    assert outbox(tmp_path) == []
    with market.transaction() as session:
        actions = session.scalars(
            select(AuditEntry.action).where(AuditEntry.action.like("citizen.%"))
        ).all()
    assert actions == ["citizen.code_request"]


def test_wrong_codes_lock_the_identity(
    market: Database, vault: PiiVault, policy: Policy, tmp_path: Path
) -> None:
    ask(market, vault, policy, tmp_path)
    code = code_in(outbox(tmp_path)[0])
    wrong = "000000" if code != "000000" else "111111"
    for attempt in range(5):
        with pytest.raises(Unauthorized) as refused, market.transaction() as session:
            citizen.check_all(
                session,
                vault,
                code=wrong,
                client="web",
                now=NOW + timedelta(seconds=attempt),
                policy=policy,
                who=WHO_A,
            )
        assert refused.value.code == "bad_code"
    with pytest.raises(RateLimited) as locked, market.transaction() as session:
        citizen.check_all(
            session, vault, code=code, client="web", now=NOW, policy=policy, who=WHO_A
        )
    assert locked.value.code == "locked"
    assert locked.value.http_status == 429
    assert locked.value.retry_after == 60 * 60 + 4  # locked at the fifth wrong code, NOW + 4 s
    later = NOW + timedelta(minutes=61)
    with pytest.raises(Unauthorized), market.transaction() as session:  # the code has expired
        citizen.check_all(
            session, vault, code=code, client="web", now=later, policy=policy, who=WHO_A
        )
    with market.transaction() as session:
        citizen.request_code(
            session,
            vault,
            OutboxSender(tmp_path),
            client="web",
            now=later,
            policy=policy,
            who=WHO_A,
        )
    fresh = code_in(outbox(tmp_path)[-1])
    with market.transaction() as session:
        view = citizen.check_all(
            session, vault, code=fresh, client="web", now=later, policy=policy, who=WHO_A
        )
        actions = session.scalars(
            select(AuditEntry.action).where(AuditEntry.action.like("citizen.%"))
        ).all()
        assert verify_chain(session).ok
    assert view.total == 3
    assert actions.count("citizen.bad_code") == 5  # 4 counted, the 5th locked, then 1 expired
    assert actions.count("citizen.locked") == 1


def test_a_key_rotation_unlocks_no_one(
    market: Database, vault: PiiVault, policy: Policy, tmp_path: Path
) -> None:
    """Locks and request windows are keyed by the identity's token: after a rotation the
    token differs, and the lock under the old one must still hold."""
    ask(market, vault, policy, tmp_path)
    code = code_in(outbox(tmp_path)[0])
    wrong = "000000" if code != "000000" else "111111"
    for _ in range(5):
        with pytest.raises(Unauthorized), market.transaction() as session:
            citizen.check_all(
                session, vault, code=wrong, client="web", now=NOW, policy=policy, who=WHO_A
            )
    rotated = PiiVault(vault.ring.rotate())
    with market.transaction() as session:
        rotate_keys(session, rotated)
    with pytest.raises(RateLimited) as locked, market.transaction() as session:
        citizen.check_all(
            session, rotated, code=code, client="web", now=NOW, policy=policy, who=WHO_A
        )
    assert locked.value.code == "locked"
    with pytest.raises(RateLimited), market.transaction() as session:
        citizen.request_code(
            session,
            rotated,
            OutboxSender(tmp_path),
            client="web2",
            now=NOW,
            policy=policy,
            who=WHO_A,
        )


def test_wrong_codes_sent_at_once_never_outnumber_the_limit(
    market: Database, vault: PiiVault, policy: Policy, tmp_path: Path
) -> None:
    """Twelve guesses at the same moment: five are compared, the rest find the identity locked."""
    ask(market, vault, policy, tmp_path)
    code = code_in(outbox(tmp_path)[0])
    wrong = [f"{n:06d}" for n in range(20) if f"{n:06d}" != code][:12]

    def guess(i: int) -> None:
        with market.transaction() as session:
            citizen.check_all(
                session, vault, code=wrong[i], client=f"c{i}", now=NOW, policy=policy, who=WHO_A
            )

    done, failed = at_once(12, guess)
    assert done == []
    assert sorted(getattr(f, "code", repr(f)) for f in failed) == ["bad_code"] * 5 + ["locked"] * 7
    with pytest.raises(RateLimited) as locked, market.transaction() as session:
        citizen.check_all(
            session, vault, code=code, client="web", now=NOW, policy=policy, who=WHO_A
        )
    assert locked.value.retry_after == 60 * 60
    with market.transaction() as session:
        actions = session.scalars(
            select(AuditEntry.action).where(AuditEntry.action.like("citizen.%"))
        ).all()
        assert verify_chain(session).ok
    assert (actions.count("citizen.bad_code"), actions.count("citizen.locked")) == (4, 1)


def test_a_right_code_at_the_last_guess_opens_the_lock_it_set(
    market: Database, vault: PiiVault, policy: Policy, tmp_path: Path
) -> None:
    ask(market, vault, policy, tmp_path)
    code = code_in(outbox(tmp_path)[0])
    wrong = "000000" if code != "000000" else "111111"
    for _ in range(4):
        with pytest.raises(Unauthorized), market.transaction() as session:
            citizen.check_all(
                session, vault, code=wrong, client="web", now=NOW, policy=policy, who=WHO_A
            )
    for _ in range(2):  # the fifth guess is right; the count starts again after it
        with market.transaction() as session:
            view = citizen.check_all(
                session, vault, code=code, client="web", now=NOW, policy=policy, who=WHO_A
            )
        assert view.total == 3


def test_knowing_a_document_alone_locks_no_one_out(
    market: Database, vault: PiiVault, policy: Policy, tmp_path: Path
) -> None:
    """Wrong codes for holder A's document at a number that is not the one asked with lock
    that pair only: A still checks with the code sent to their own number."""
    ask(market, vault, policy, tmp_path)
    code = code_in(outbox(tmp_path)[0])
    guesser = citizen.Asker(**(A | {"msisdn": "13900000001"}))
    for _ in range(6):
        with pytest.raises((Unauthorized, RateLimited)), market.transaction() as session:
            citizen.check_all(
                session, vault, code="123456", client="c1", now=NOW, policy=policy, who=guesser
            )
    with pytest.raises(RateLimited) as locked, market.transaction() as session:
        citizen.check_all(
            session, vault, code="123456", client="c1", now=NOW, policy=policy, who=guesser
        )
    with market.transaction() as session:
        view = citizen.check_all(
            session, vault, code=code, client="web", now=NOW, policy=policy, who=WHO_A
        )
    assert locked.value.code == "locked"
    assert view.total == 3


def test_one_client_guesses_at_many_identities_only_so_often(
    market: Database, vault: PiiVault, policy: Policy, tmp_path: Path
) -> None:
    """Twenty wrong codes from one client, four at each of five identities, use up its
    allowance: its next guess is refused whoever it names; another client still asks."""

    def guess(n: int, client: str) -> None:
        who = citizen.Asker(**(A | {"doc_number": f"11010119900101{n:04d}"}))
        with market.transaction() as session:
            citizen.check_all(
                session, vault, code="123456", client=client, now=NOW, policy=policy, who=who
            )

    for n in range(20):
        with pytest.raises(Unauthorized):
            guess(n // 4, "c1")
    with pytest.raises(RateLimited) as spent:
        guess(9, "c1")
    with pytest.raises(Unauthorized):
        guess(9, "c2")
    assert spent.value.code == "rate_limited"
    assert spent.value.retry_after == 60 * 60


def test_code_requests_sent_at_once_keep_the_hourly_limit(
    market: Database, vault: PiiVault, policy: Policy, tmp_path: Path
) -> None:
    done, failed = at_once(8, lambda i: ask(market, vault, policy, tmp_path, client=f"c{i}"))
    assert len(done) == 5
    assert [getattr(f, "code", repr(f)) for f in failed] == ["rate_limited"] * 3
    with market.transaction() as session:
        assert session.scalar(select(func.count(CitizenCode.id))) == 5


def test_code_requests_are_rate_limited_per_identity_and_per_client(
    market: Database, vault: PiiVault, policy: Policy, tmp_path: Path
) -> None:
    for n in range(5):
        ask(market, vault, policy, tmp_path, client=f"c{n}")
    before = row_counts(market)
    with pytest.raises(RateLimited) as per_identity:
        ask(market, vault, policy, tmp_path, client="c9")
    assert per_identity.value.code == "rate_limited"
    assert per_identity.value.retry_after == 60 * 60  # when the oldest of the five leaves the hour
    assert row_counts(market) == before
    for n in range(5):
        ask(market, vault, policy, tmp_path, client="shared", doc_number=f"11010119900101{n:04d}")
    with pytest.raises(RateLimited) as per_client:
        ask(market, vault, policy, tmp_path, client="shared", doc_number=HOLDER_B.number)
    assert per_client.value.code == "rate_limited"


def test_a_dispute_opens_a_task_at_the_holding_enterprise(
    market: Database, vault: PiiVault, policy: Policy, tmp_path: Path
) -> None:
    ask(market, vault, policy, tmp_path)
    code = code_in(outbox(tmp_path)[0])

    def disputing(number: str) -> citizen.DisputeTask:
        with market.transaction() as session:  # one request, one transaction, as the API does
            return citizen.dispute(
                session,
                vault,
                code=code,
                client="web",
                now=NOW,
                disputed_msisdn=number,
                policy=policy,
                who=WHO_A,
            )

    task = disputing(A_E02)
    again = disputing(A_E02)
    with pytest.raises(NotFound):
        disputing(B_E01)
    with market.transaction() as session:
        seen_by_e02 = tasks_for(session, E02, kind="dispute")
        seen_by_e01 = tasks_for(session, E01, kind="dispute")
    assert (task.enterprise_code, task.msisdn, task.created, again.created) == (
        "E02",
        "170****0001",
        True,
        False,
    )
    assert task.due_at == NOW + timedelta(days=15)
    assert [t.task_id for t in seen_by_e02] == [task.task_id]
    assert seen_by_e01 == []


def test_bad_input_is_refused_before_anything_is_stored(
    market: Database, vault: PiiVault, policy: Policy, tmp_path: Path
) -> None:
    before = row_counts(market)
    for who in (
        {"msisdn": "+1 415 555 0123"},
        {"msisdn": "x"},
        {"name": " "},
        {"doc_type": "RIC\uff1a"},  # a full-width colon folds to ":" in the identity key
        {"doc_type": "PASSPORT", "doc_number": "E12345678"},  # a passport without its state
        {"doc_type": "passport", "doc_number": "E12345678", "nationality": "ZZZ"},
    ):
        with pytest.raises(InvalidInput):
            ask(market, vault, policy, tmp_path, **who)
    assert row_counts(market) == before
    assert outbox(tmp_path) == []


def test_a_passport_holder_checks_with_the_state_that_issued_it(
    market: Database, vault: PiiVault, policy: Policy, tmp_path: Path
) -> None:
    """The number of a passport names its holder only with the issuing state: the same number
    with another state is another identity, which holds nothing here."""
    service = RegistrationService(vault, policy)
    number = "17090000077"
    with market.transaction() as session:
        service.register(
            session,
            replace(
                sign_up(number),
                holder=PresentedDocument(
                    "PASSPORT", "E12345678", "USA", "John Smith", date(1980, 1, 1)
                ),
            ),
            actor="test",
        )
    who = {"doc_type": "PASSPORT", "doc_number": "E12345678", "name": "John Smith"}
    ask(market, vault, policy, tmp_path, msisdn=number, nationality="GBR", **who)
    assert outbox(tmp_path) == []  # the answer is the same; no code goes out
    ask(market, vault, policy, tmp_path, msisdn=number, nationality="us", **who)
    [message] = outbox(tmp_path)
    with market.transaction() as session:
        view = citizen.check_all(
            session,
            vault,
            code=code_in(message),
            client="web",
            now=NOW + timedelta(minutes=1),
            policy=policy,
            who=citizen.Asker(msisdn=number, nationality="USA", **who),
        )
    assert view.to_json()["total"] == 1


def test_a_document_number_is_read_as_at_sign_up(
    market: Database, vault: PiiVault, policy: Policy, tmp_path: Path
) -> None:
    """Spaces, dashes and full-width digits are dropped at sign-up; the check drops them too."""
    number = HOLDER_A.number
    spaced = f"{number[:6]} {number[6:14]}-{number[14:]}"
    ask(market, vault, policy, tmp_path, doc_number=spaced)
    assert [m["to"] for m in outbox(tmp_path)] == [f"+86{A_E01}"]
