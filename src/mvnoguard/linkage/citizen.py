""" "One ID, check all": a citizen sees every number registered under their identity.

The citizen gives a document, their name and one of their own numbers, and receives a 6-digit
code on that number; with the code they see, per enterprise, how many numbers they hold (masked),
and can dispute one. A code is sent only when the number is live under that very identity
(document and name), but the answer is the same either way, so nobody learns whose number is
whose. Codes are kept only as keyed hashes and expire; requests are rate-limited per identity
and per client; wrong codes lock the identity at that number for a while, and a client (see
``client_wrong_codes`` in the policy) after more of them, wherever they were aimed.

Refusals: too many code requests, or too many wrong codes from one client, raise
:class:`RateLimited` (``rate_limited``), a locked identity the same class with code ``locked``
(both HTTP 429, with the seconds to wait); a wrong,
expired or unknown code raises :class:`Unauthorized` with code ``bad_code`` (HTTP 401).

Every code given takes one of the identity's guesses first, in a transaction of its own committed
at once, so guesses sent at the same moment cannot outnumber the limit, and the count survives the
caller's rollback on ``bad_code``. Call :func:`check_all` or :func:`dispute` once per transaction,
before writing anything else in it: on SQLite a write in the caller's transaction would keep
those side transactions waiting.
"""

from __future__ import annotations

import json
import math
import secrets
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Protocol

from sqlalchemy import Connection, case, func, literal, or_, select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from mvnoguard.domain.policy import Policy
from mvnoguard.domain.subscribers import ReviewTaskKind, ReviewTaskStatus, SubscriberStatus
from mvnoguard.errors import InvalidInput, NotFound, RateLimited, Unauthorized
from mvnoguard.identity.documents import compact_number, normalise_nationality
from mvnoguard.identity.vault import PASSPORT, PiiVault, identity_key
from mvnoguard.linkage.callers import policy_or_default
from mvnoguard.linkage.identity_links import open_task
from mvnoguard.linkage.numbers import e164, live_holder, mask_msisdn, national_mobile
from mvnoguard.linkage.settings import LinkageSettings, linkage_settings
from mvnoguard.registry.identities import name_matches
from mvnoguard.registry.records import iso_utc
from mvnoguard.storage import audit_log
from mvnoguard.storage.database import hold_locks
from mvnoguard.storage.models import (
    CitizenCode,
    CitizenLock,
    Enterprise,
    Identity,
    ReviewTask,
    Subscriber,
)

CODE_DIGITS = 6
DISPUTE = ReviewTaskKind.DISPUTE.value
ACTOR = "citizen"
_MAX_FIELD = 100


class CodeSender(Protocol):
    def send(self, msisdn: str, text: str) -> None: ...


class OutboxSender:
    """Writes each message as one JSON line to ``folder/sms.jsonl`` (``HOME/outbox``)."""

    def __init__(self, folder: Path) -> None:
        self.path = folder / "sms.jsonl"

    def send(self, msisdn: str, text: str) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("a", encoding="utf-8") as handle:
            handle.write(json.dumps({"to": msisdn, "text": text}, ensure_ascii=False) + "\n")


@dataclass(frozen=True)
class EnterpriseHoldings:
    enterprise_code: str
    enterprise_name: str
    count: int
    numbers: tuple[str, ...]  # masked

    def to_json(self) -> dict[str, Any]:
        return {
            "enterprise_code": self.enterprise_code,
            "enterprise_name": self.enterprise_name,
            "count": self.count,
            "numbers": list(self.numbers),
        }


@dataclass(frozen=True)
class CitizenView:
    enterprises: tuple[EnterpriseHoldings, ...]

    @property
    def total(self) -> int:
        return sum(e.count for e in self.enterprises)

    def to_json(self) -> dict[str, Any]:
        return {"total": self.total, "enterprises": [e.to_json() for e in self.enterprises]}


@dataclass(frozen=True)
class DisputeTask:
    task_id: int
    enterprise_code: str
    msisdn: str  # masked
    status: str
    due_at: datetime | None
    created: bool  # False: the number was already under an open dispute

    def to_json(self) -> dict[str, Any]:
        return {
            "task_id": self.task_id,
            "enterprise_code": self.enterprise_code,
            "msisdn": self.msisdn,
            "status": self.status,
            "due_at": iso_utc(self.due_at),
            "created": self.created,
        }


@dataclass(frozen=True)
class Asker:
    """Who is asking, as they say: a document, the name on it and one of their own numbers
    (a passport with the state that issued it)."""

    doc_type: str
    doc_number: str
    name: str
    msisdn: str
    nationality: str | None = None


@dataclass(frozen=True)
class _Request:
    identity_key: str
    tokens: tuple[str, ...]
    name: str
    number: str  # E.164
    national: str
    # The lock row's key under every key version: the identity at this number. Codes go to one
    # number, so guesses at one pair never help at another, and whoever knows a document alone
    # cannot lock its holder out.
    lock_keys: tuple[str, ...]


def _field(value: object, name: str) -> str:
    text = value.strip() if isinstance(value, str) else ""
    if not text or len(text) > _MAX_FIELD:
        raise InvalidInput(
            f"{name} is required (at most {_MAX_FIELD} characters)", code="bad_value", field=name
        )
    return text


def _nationality(kind: str, nationality: str | None) -> str | None:
    """A passport's nationality as a country code (its identity is the number within it);
    ignored for every other document."""
    if kind.upper() != PASSPORT:
        return None
    country = normalise_nationality(nationality) if isinstance(nationality, str) else None
    if country is None:
        raise InvalidInput(
            "a passport needs its nationality (ISO 3166-1 country code, e.g. USA)",
            code="bad_nationality",
            field="nationality",
        )
    return country


def _request(vault: PiiVault, who: Asker) -> _Request:
    kind = _field(who.doc_type, "doc_type")
    # Spelled as at sign-up, where spaces, dashes and full-width forms are dropped.
    number = compact_number(_field(who.doc_number, "doc_number"))
    if ":" in unicodedata.normalize("NFKC", kind):  # a full-width colon folds to ":"
        raise InvalidInput("not a document type", code="bad_value", field="doc_type")
    country = _nationality(unicodedata.normalize("NFKC", kind).strip(), who.nationality)
    phone = e164(who.msisdn)
    national = national_mobile(phone)
    if national is None:
        raise InvalidInput("not a Chinese mobile number", code="bad_number", field="msisdn")
    return _Request(
        vault.identity_token(kind, number, country),
        vault.identity_tokens(kind, number, country),
        _field(who.name, "name"),
        phone,
        national,
        vault.tokens("citizen_lock", f"{identity_key(kind, number, country)}\x1f{national}"),
    )


def _holder(
    session: Session, vault: PiiVault, request: _Request, *, audit: bool = True
) -> Identity | None:
    """The stored identity, if the document and the name both match it.

    Reading the name is audited here, or by the caller once it may write (``audit=False``).
    """
    identity = session.scalar(select(Identity).where(Identity.token.in_(request.tokens)).limit(1))
    if identity is None or identity.name_ciphertext is None:
        return None
    if audit:
        _audit_match(session, identity)
    return identity if name_matches(vault, identity, request.name) else None


def _audit_match(session: Session, identity: Identity) -> None:
    audit_log.append(
        session,
        actor=ACTOR,
        action="identity.match",
        subject=f"identity:{identity.id}",
        detail="one ID, check all: name compared",
    )


def _code_hash(vault: PiiVault, request: _Request, code: str) -> str:
    return vault.token("citizen_code", f"{request.identity_key}\x1f{request.national}\x1f{code}")


def _window(
    session: Session, column: Any, keys: Sequence[str], since: datetime
) -> tuple[int, datetime | None]:
    """How many codes ``keys`` asked for after ``since``, and when the oldest of them was."""
    count, oldest = session.execute(
        select(func.count(CitizenCode.id), func.min(CitizenCode.created_at)).where(
            column.in_(keys), CitizenCode.created_at > since
        )
    ).one()
    return int(count or 0), oldest


def _seconds_until(moment: datetime, now: datetime) -> int:
    return max(1, math.ceil((moment - now).total_seconds()))


def _lock(session: Session, tokens: Sequence[str]) -> CitizenLock | None:
    """The identity's lock row under any key version (a rotation must not unlock anyone)."""
    return session.scalar(
        select(CitizenLock)
        .where(CitizenLock.identity_key.in_(tokens))
        .order_by(CitizenLock.locked_until.desc().nulls_last(), CitizenLock.id)
        .limit(1)
    )


LOCKED_MESSAGE = "too many wrong codes: try again later"


def _locked_out(message: str, code: str, until: datetime, now: datetime) -> RateLimited:
    """The refusal of a lock held until ``until``: the seconds to wait, and when it ends."""
    return RateLimited(
        message,
        code=code,
        retry_after=_seconds_until(until, now),
        details={"locked_until": iso_utc(until)},
    )


def _refuse_if_locked(session: Session, tokens: Sequence[str], now: datetime) -> None:
    lock = _lock(session, tokens)
    if lock is not None and lock.locked_until is not None and lock.locked_until > now:
        raise _locked_out(LOCKED_MESSAGE, "locked", lock.locked_until, now)


def request_code(
    session: Session,
    vault: PiiVault,
    sender: CodeSender,
    who: Asker,
    *,
    client: str,
    now: datetime,
    policy: Policy | None = None,
) -> None:
    """Send a code to ``msisdn`` if it is live under this identity; answer the same either way."""
    request = _request(vault, who)
    client_key = vault.token("citizen_client", _field(client, "client"))
    settings = linkage_settings(policy_or_default(policy))
    # Counted and written under the identity's and the client's locks: requests sent at the same
    # moment are counted one after another, never all against the same earlier count.
    hold_locks(session, *(f"citizen:{key}" for key in (*request.tokens, client_key)))
    hour_ago = now - timedelta(hours=1)
    for column, keys in (
        (CitizenCode.identity_key, request.tokens),
        (CitizenCode.client_key, (client_key,)),
    ):
        count, oldest = _window(session, column, keys, hour_ago)
        if count >= settings.codes_per_hour and oldest is not None:
            raise RateLimited(
                "too many code requests: try again later",
                retry_after=_seconds_until(oldest + timedelta(hours=1), now),
            )
    _refuse_if_locked(session, request.lock_keys, now)
    identity = _holder(session, vault, request)
    holder = live_holder(session, request.national) if identity is not None else None
    matched = identity is not None and holder is not None and holder.identity_id == identity.id
    row = CitizenCode(identity_key=request.identity_key, client_key=client_key, created_at=now)
    code = f"{secrets.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"
    if matched:
        row.msisdn = request.number
        row.code_hash = _code_hash(vault, request, code)
        row.expires_at = now + timedelta(minutes=settings.code_minutes)
    session.add(row)
    audit_log.append(
        session,
        actor=ACTOR,
        action="citizen.code_request",
        subject=request.identity_key,
        detail="code sent" if matched else "no match: nothing sent",
        at=now,
    )
    # Sent only once the rows are flushed: a write that fails sends no code.
    session.flush()
    if matched:
        sender.send(
            request.number,
            f"Your one-ID check code is {code}; valid {settings.code_minutes} minutes. "
            "Never tell it to anyone.",
        )


@dataclass(frozen=True)
class _Allowance:
    """Guesses allowed to one holder of a lock row: an identity at one of its numbers, or a
    client. ``keys`` are its row's key under every key version, current first."""

    keys: tuple[str, ...]
    limit: int
    refusal: str  # the RateLimited code once it is used up
    message: str


@dataclass(frozen=True)
class _Guess:
    """One guess taken from an allowance: its lock row, and whether it set the lock."""

    lock_id: int
    locking: bool


def _side_session(session: Session) -> Session:
    """A session on the same engine whose transaction commits on its own."""
    bind = session.get_bind()
    return Session(bind.engine if isinstance(bind, Connection) else bind)


def _lock_row_id(side: Session, keys: Sequence[str], now: datetime) -> int:
    """The id of the allowance's lock row, made if it has none (two first guesses make one)."""
    lock = _lock(side, keys)
    if lock is not None:
        return lock.id
    dialect = side.get_bind().dialect.name
    insert = postgresql_insert if dialect == "postgresql" else sqlite_insert
    side.execute(
        insert(CitizenLock)
        .values(identity_key=keys[0], wrong_codes=0, updated_at=now)
        .on_conflict_do_nothing(index_elements=[CitizenLock.identity_key])
    )
    made = _lock(side, keys)
    assert made is not None  # inserted above, or by the guess that won the race
    return made.id


def _take_guess(
    session: Session, allowance: _Allowance, now: datetime, settings: LinkageSettings
) -> _Guess:
    """Take one guess before the code is compared, in a transaction of its own, committed now.

    The count goes up in one UPDATE that skips a locked row, so guesses made at the same moment
    each get their own number and no more than the allowance are ever compared: the guess that
    uses the last one locks at once, and unlocks only if its code is right.
    """
    with _side_session(session) as side, side.begin():
        lock_id = _lock_row_id(side, allowance.keys, now)
        taken = side.scalar(
            update(CitizenLock)
            .where(
                CitizenLock.id == lock_id,
                or_(CitizenLock.locked_until.is_(None), CitizenLock.locked_until <= now),
            )
            .values(wrong_codes=CitizenLock.wrong_codes + 1, updated_at=now)
            .returning(CitizenLock.wrong_codes)
        )
        if taken is None:
            locked_until = side.scalar(
                select(CitizenLock.locked_until).where(CitizenLock.id == lock_id)
            )
            raise _locked_out(allowance.message, allowance.refusal, locked_until or now, now)
        locking = taken >= allowance.limit
        if locking:
            side.execute(
                update(CitizenLock)
                .where(CitizenLock.id == lock_id)
                .values(wrong_codes=0, locked_until=now + timedelta(minutes=settings.lock_minutes))
            )
    return _Guess(lock_id, locking)


def _record_wrong_code(session: Session, request: _Request, guess: _Guess, now: datetime) -> None:
    """Audit a wrong code in a transaction of its own: the caller's rollback must not undo it."""
    with _side_session(session) as side, side.begin():
        audit_log.append(
            side,
            actor=ACTOR,
            action="citizen.locked" if guess.locking else "citizen.bad_code",
            subject=request.identity_key,
            detail="code or name",
            at=now,
        )


def _give_back(session: Session, guess: _Guess, client: _Guess, now: datetime) -> None:
    """A right code clears the identity's count and gives the client its guess back, each with
    the lock the guess itself set (committed at once too)."""
    with _side_session(session) as side, side.begin():
        for taken, count in (
            (guess, literal(0)),
            (client, case((CitizenLock.wrong_codes > 0, CitizenLock.wrong_codes - 1), else_=0)),
        ):
            values: dict[str, Any] = {"wrong_codes": count, "updated_at": now}
            if taken.locking:
                values["locked_until"] = None
            side.execute(update(CitizenLock).where(CitizenLock.id == taken.lock_id).values(values))


def _allowances(
    vault: PiiVault, request: _Request, client: str, settings: LinkageSettings
) -> tuple[_Allowance, _Allowance]:
    """The client's guesses, and the identity's at the number the codes go to."""
    return (
        _Allowance(
            vault.tokens("citizen_guesser", client),
            settings.client_wrong_codes,
            "rate_limited",
            "too many wrong codes from here: try again later",
        ),
        _Allowance(
            request.lock_keys,
            settings.max_wrong_codes,
            "locked",
            LOCKED_MESSAGE,
        ),
    )


def _verified(
    session: Session,
    vault: PiiVault,
    who: Asker,
    *,
    code: str,
    client: str,
    now: datetime,
    policy: Policy | None,
) -> tuple[_Request, Identity]:
    request = _request(vault, who)
    settings = linkage_settings(policy_or_default(policy))
    by_client, by_identity = _allowances(vault, request, _field(client, "client"), settings)
    # Nothing is written in the caller's transaction before the guesses are taken in their own.
    client_guess = _take_guess(session, by_client, now, settings)
    guess = _take_guess(session, by_identity, now, settings)
    given = code.strip() if isinstance(code, str) else ""
    valid = (
        len(given) == CODE_DIGITS
        and given.isascii()
        and given.isdigit()
        and session.scalar(
            select(CitizenCode.id)
            .where(
                CitizenCode.identity_key == request.identity_key,
                CitizenCode.msisdn == request.number,
                CitizenCode.code_hash == _code_hash(vault, request, given),
                CitizenCode.expires_at > now,
            )
            .limit(1)
        )
        is not None
    )
    identity = _holder(session, vault, request, audit=False) if valid else None
    if identity is None:
        _record_wrong_code(session, request, guess, now)
        raise Unauthorized("the code is wrong or has expired", code="bad_code", field="code")
    _give_back(session, guess, client_guess, now)
    _audit_match(session, identity)
    return request, identity


def check_all(
    session: Session,
    vault: PiiVault,
    who: Asker,
    *,
    code: str,
    client: str,
    now: datetime,
    policy: Policy | None = None,
) -> CitizenView:
    """Every live number under the identity, per enterprise, masked."""
    _, identity = _verified(
        session,
        vault,
        who,
        code=code,
        client=client,
        now=now,
        policy=policy,
    )
    rows = session.execute(
        select(Enterprise.code, Enterprise.name, Subscriber.msisdn)
        .join(Enterprise, Enterprise.id == Subscriber.enterprise_id)
        .where(
            Subscriber.identity_id == identity.id,
            Subscriber.status != SubscriberStatus.CANCELLED.value,
        )
        .order_by(Enterprise.code, Subscriber.msisdn)
    ).all()
    grouped: dict[tuple[str, str], list[str]] = {}
    for code_, name_, number in rows:
        grouped.setdefault((code_, name_), []).append(mask_msisdn(number))
    audit_log.append(
        session,
        actor=ACTOR,
        action="citizen.check_all",
        subject=f"identity:{identity.id}",
        detail=f"{len(rows)} numbers shown",
        at=now,
    )
    return CitizenView(
        tuple(
            EnterpriseHoldings(code_, name_, len(numbers), tuple(numbers))
            for (code_, name_), numbers in grouped.items()
        )
    )


def dispute(
    session: Session,
    vault: PiiVault,
    who: Asker,
    *,
    code: str,
    disputed_msisdn: str,
    client: str,
    now: datetime,
    policy: Policy | None = None,
) -> DisputeTask:
    """Open a ``dispute`` task at the enterprise holding a number registered under the identity."""
    _, identity = _verified(
        session,
        vault,
        who,
        code=code,
        client=client,
        now=now,
        policy=policy,
    )
    national = national_mobile(e164(disputed_msisdn, field="disputed_msisdn"))
    holder = live_holder(session, national) if national else None
    if holder is None or holder.identity_id != identity.id:
        raise NotFound(
            "no number of yours by that number", code="unknown_subscriber", field="disputed_msisdn"
        )
    settings = linkage_settings(policy_or_default(policy))
    task = open_task(session, DISPUTE, holder.id)
    created = task is None
    if task is None:
        task = ReviewTask(
            kind=DISPUTE,
            enterprise_id=holder.enterprise_id,
            subscriber_id=holder.id,
            identity_id=identity.id,
            reason="the identity holder says they did not register this number",
            status=ReviewTaskStatus.OPEN.value,
            created_at=now,
            due_at=now + timedelta(days=settings.dispute_days),
        )
        session.add(task)
        audit_log.append(
            session,
            actor=ACTOR,
            action="citizen.dispute",
            subject=holder.msisdn,
            detail=f"identity:{identity.id}",
            at=now,
        )
        session.flush()
    return DisputeTask(
        task.id,
        holder.enterprise.code,
        mask_msisdn(holder.msisdn),
        task.status,
        task.due_at,
        created,
    )
