"""Synthetic call and message records with planted nuisance numbers, and the truth.

:func:`generate_traffic` writes, into one folder, the ``calls``, ``messages`` and
``complaints`` contracts (CSV or Parquet), ``activations.csv``, ``truth.csv`` (every
subscriber's kind and nuisance category, numbers in E.164) and ``truth.json`` (parameters,
counts, rows written, bad rows). Subscribers come from a synthetic market (``--market``) or
are made up in the MVNO segments. Each kind's behaviour is in :mod:`.traffic_calls` and
:mod:`.traffic_messages`; who is who in :mod:`.traffic_people`. Generation is vectorised and
streamed a day at a time; the same seed gives byte-identical files.
"""

from __future__ import annotations

import json
import math
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv

from mvnoguard.analytics.traffic_typing import sql_literal
from mvnoguard.errors import DataFileError, InvalidInput
from mvnoguard.output_paths import output_folder

from .traffic_calls import DayCalls, Rows, call_rows, day_events
from .traffic_messages import (
    CATEGORIES,
    ComplaintDraw,
    MessageRows,
    complaint_texts,
    day_messages,
    draw_complaints,
    expected_out,
    message_rows,
)
from .traffic_people import CATEGORY, KINDS, MIN_USERS, Population, make_population, mvno_numbers
from .traffic_tables import (
    CALL_SCHEMA,
    COMPLAINT_SCHEMA,
    MESSAGE_SCHEMA,
    PartWriter,
    directions,
    iso_beijing,
    numbers,
    spoil,
    timestamps,
)
from .vectors import IntArray, salt_of

__all__ = ["PART_ROWS", "TrafficTruth", "generate_traffic"]

PART_ROWS = 5_000_000
CHUNK_ROWS = 1 << 21
_IN_FLIGHT = 2
BAD_ROW_SHARE = 1e-4
_PILOT_USERS = 5000
# Drawing the population holds about 1.7 kB per subscriber at its peak (2 million: 3.5 GB,
# measured), so 10 million fit a 24 GB machine; more is refused before any work.
MAX_USERS = 10_000_000
_OUTPUTS = ("calls", "messages", "complaints")
_BEIJING = timezone(timedelta(hours=8))


@dataclass(frozen=True, slots=True)
class TrafficTruth:
    """What the generated folder holds; ``to_dict`` is ``truth.json``."""

    seed: int
    users: int
    days: int
    start: str
    format: str
    market: str | None
    target_calls: int | None
    kinds: dict[str, int]  # subscribers per kind
    sim_pool_groups: int
    rows: dict[str, int]  # records written per contract (bad rows included)
    bad_rows: int
    bad_rows_by_reason: dict[str, dict[str, int]]
    complaints: dict[str, int]  # against nuisance numbers, mistaken (legitimate numbers)
    files: dict[str, list[str]] = field(default_factory=dict)  # relative paths per contract

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False, indent=2) + "\n"

    def summary(self) -> dict[str, Any]:
        """The one-line summary the CLI prints."""
        return {"users": self.users, "days": self.days, "kinds": self.kinds, "rows": self.rows,
                "bad_rows": self.bad_rows}  # fmt: skip

    @classmethod
    def load(cls, path: Path) -> TrafficTruth:
        return cls(**json.loads(path.read_text(encoding="utf-8")))


def _market_numbers(market: Path, users: int, seed: int) -> IntArray:
    """``users`` distinct active numbers drawn from a synthetic market's registry files."""
    import duckdb

    folder = market / "subscribers"
    parquet = sorted(folder.glob("*.parquet"))
    files = parquet or sorted(folder.glob("*.csv"))
    if not files:
        raise DataFileError(f"no subscriber files under {folder}", field="market")
    names = ", ".join(sql_literal(str(p)) for p in files)
    source = (
        f"read_parquet([{names}])"
        if parquet
        else f"read_csv([{names}], header=true, all_varchar=true)"
    )
    sql = (
        f"SELECT DISTINCT CAST(msisdn AS BIGINT) FROM {source} "
        "WHERE status = 'active' AND regexp_full_match(msisdn, '1[0-9]{10}') ORDER BY 1"
    )
    try:
        with duckdb.connect() as con:
            found = con.execute(sql).fetchnumpy()
    except duckdb.Error as exc:
        raise DataFileError("the market's subscriber files cannot be read", field="market") from exc
    active: IntArray = next(iter(found.values())).astype(np.int64)
    if active.size < users:
        raise InvalidInput(
            f"the market has {active.size} active subscribers, fewer than {users}", field="users"
        )
    rng = np.random.default_rng([seed, 0x4D4B54])
    out: IntArray = np.sort(rng.choice(active, users, replace=False))
    return out


def _midnight(start: date, day: int) -> int:
    return int(
        datetime.combine(start + timedelta(days=day), datetime.min.time(), _BEIJING).timestamp()
    )


def _numbers_of(pop: Population, parties: IntArray) -> IntArray:
    n = pop.size
    out: IntArray = np.where(parties < n, pop.msisdn[np.minimum(parties, n - 1)], parties)
    return out


def _calls_table(pop: Population, rows: Rows, rng: np.random.Generator, fmt: str) -> pa.Table:
    columns = [
        numbers(pop.msisdn[rows.owner], rng, 0.01),
        numbers(_numbers_of(pop, rows.other), rng, 0.03),
        directions(rows.direction),
        timestamps(rows.t, "parquet" if fmt == "parquet" else "csv"),
        pa.array(rows.dur.astype(np.int32)),
        pc.cast(pa.array(rows.cell), pa.string()),
        pc.cast(pa.array(rows.imei), pa.string()),
    ]
    return pa.Table.from_arrays(columns, names=CALL_SCHEMA.names)


def _messages_table(
    pop: Population, rows: MessageRows, rng: np.random.Generator, fmt: str
) -> pa.Table:
    columns = [
        numbers(pop.msisdn[rows.owner], rng, 0.01),
        numbers(_numbers_of(pop, rows.other), rng, 0.03),
        directions(rows.direction),
        timestamps(rows.t, "parquet" if fmt == "parquet" else "csv"),
        rows.content,
    ]
    return pa.Table.from_arrays(columns, names=MESSAGE_SCHEMA.names)


def _complaints_table(
    pop: Population, draws: list[ComplaintDraw], rng: np.random.Generator, fmt: str
) -> pa.Table:
    def cat(name: str) -> IntArray:
        out: IntArray = np.concatenate([getattr(d, name) for d in draws])
        return out

    reported, reporter, category, received = (
        cat(f) for f in ("reported", "reporter", "category", "received")
    )
    order = np.lexsort((reported, received))
    reported, reporter, category, received = (
        x[order] for x in (reported, reporter, category, received)
    )
    columns = [
        numbers(pop.msisdn[reported], rng, 0.05),
        numbers(_numbers_of(pop, reporter), rng, 0.05),
        pc.take(pa.array(CATEGORIES), pa.array(category)),
        timestamps(received, "parquet" if fmt == "parquet" else "csv"),
        complaint_texts(rng, category),
    ]
    return pa.Table.from_arrays(columns, names=COMPLAINT_SCHEMA.names)


_TABLES: dict[str, Callable[..., pa.Table]] = {"calls": _calls_table, "messages": _messages_table}


class _Background:
    """Files written by one background thread, in submission order, so that building the
    next piece overlaps with compressing and writing; at most ``_IN_FLIGHT`` pieces wait."""

    def __init__(self, progress: Callable[[int], None] | None) -> None:
        self.progress = progress
        self.calls_written = 0
        self.pending: deque[tuple[Future[None], int]] = deque()
        self.pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="traffic-writer")

    def write(self, writer: PartWriter, table: pa.Table, calls: bool) -> None:
        while len(self.pending) >= _IN_FLIGHT:
            self._settle()
        self.pending.append((self.pool.submit(writer.write, table), table.num_rows * calls))

    def drain(self) -> None:
        while self.pending:
            self._settle()

    def _settle(self) -> None:
        future, calls = self.pending.popleft()
        future.result()
        if calls:
            self.calls_written += calls
            if self.progress is not None:
                self.progress(self.calls_written)

    def close(self) -> None:
        for future, _ in self.pending:
            future.cancel()
        wait([future for future, _ in self.pending])
        self.pool.shutdown()


def _e164(values: IntArray) -> pa.Array:
    return pc.binary_join_element_wise("+86", pc.cast(pa.array(values), pa.string()), "")


def _write_people(out: Path, pop: Population) -> None:
    activations = pa.table(
        {
            "msisdn": pc.cast(pa.array(pop.msisdn), pa.string()),
            "activated_at": iso_beijing(pop.activated),
        }
    )
    pa_csv.write_csv(activations, out / "activations.csv")
    kind = pc.take(pa.array(KINDS), pa.array(pop.kind.astype(np.int64)))
    category = pc.take(
        pa.array([CATEGORY.get(k, "") for k in KINDS]), pa.array(pop.kind.astype(np.int64))
    )
    truth = pa.table({"msisdn": _e164(pop.msisdn), "kind": kind, "category": category})
    pa_csv.write_csv(truth, out / "truth.csv")


def _clear(out: Path) -> None:
    """Remove an earlier run's files (of either format), so readers see one traffic set."""
    for name in _OUTPUTS:
        for ext in ("csv", "parquet"):
            (out / f"{name}.{ext}").unlink(missing_ok=True)
            for part in (out / name).glob(f"part-*.{ext}"):
                part.unlink()
    for name in ("activations.csv", "truth.csv", "truth.json"):
        (out / name).unlink(missing_ok=True)


def _day(
    pop: Population, seed: int, start: date, day: int, customers: IntArray
) -> tuple[DayCalls, Rows, MessageRows]:
    rng = np.random.default_rng([seed, 0x44415953, day])
    t0 = _midnight(start, day)
    weekend = (start + timedelta(days=day)).weekday() >= 5
    d = DayCalls(pop, rng, t0, weekend, customers, salt_of(seed, "traffic-customers"))
    events, work = day_events(d)
    rows = call_rows(d, events)
    messages = message_rows(d, day_messages(d, work))
    return d, rows, messages


def _users_for(target_calls: int, days: int, seed: int, start: date) -> int:
    """Subscribers whose calls over ``days`` come to about ``target_calls`` rows, from a
    pilot of a few thousand over the same weekdays (at most a week)."""
    span = min(days, 7)
    pilot = make_population(mvno_numbers(_PILOT_USERS, seed), seed, start, span)
    customers = np.zeros(pilot.size, dtype=np.int64)
    rows = sum(len(_day(pilot, seed, start, day, customers)[1]) for day in range(span))
    per_user_day = rows / (span * _PILOT_USERS)
    return max(MIN_USERS, math.ceil(target_calls / (days * per_user_day)))


# Records carry times that every engine and file format holds (and activations go back years).
EARLIEST_START = date(2000, 1, 1)
LATEST_END = date(2999, 12, 31)


def _check_window(start: date, days: int) -> None:
    if start < EARLIEST_START or start > LATEST_END - timedelta(days=days):
        raise InvalidInput(
            f"the {days} days from --start must lie between {EARLIEST_START} and {LATEST_END}",
            code="out_of_range",
            field="start",
        )


def _check(users: int, days: int, fmt: str, target_calls: int | None) -> None:
    if fmt not in ("csv", "parquet"):
        raise InvalidInput(f"unknown format {fmt!r}: expected csv or parquet", field="format")
    if not 1 <= days <= 366:
        raise InvalidInput("days must be between 1 and 366", field="days")
    if not MIN_USERS <= users <= MAX_USERS:
        raise InvalidInput(
            f"users must be from {MIN_USERS:,} to {MAX_USERS:,}", code="out_of_range", field="users"
        )
    if target_calls is not None and target_calls < 1:
        raise InvalidInput("the call target must be positive", field="calls")


def generate_traffic(
    out: Path,
    *,
    users: int = 20_000,
    days: int = 7,
    seed: int = 7,
    start: date = date(2026, 3, 2),
    market: Path | None = None,
    fmt: Literal["csv", "parquet"] = "csv",
    target_calls: int | None = None,
    progress: Callable[[int], None] | None = None,
) -> TrafficTruth:
    """Write a week (``days``) of records of ``users`` subscribers into ``out``.

    ``target_calls`` overrides ``users`` with as many as make about that many call rows, and
    above :data:`PART_ROWS` writes calls as parts ``calls/part-00000.<fmt>``, ... .
    ``progress`` gets the number of call rows written so far after each written piece.
    Raises ``InvalidInput`` for impossible parameters, ``DataFileError`` for an unreadable
    market.
    """
    _check(users, days, fmt, target_calls)
    _check_window(start, days)
    output_folder(out)
    if target_calls is not None:
        users = _users_for(target_calls, days, seed, start)
        if users > MAX_USERS:
            raise InvalidInput(
                f"about {target_calls:,} calls over {days} days need {users:,} subscribers, "
                f"more than the {MAX_USERS:,} one run can draw; split the run by days",
                code="out_of_range",
                field="calls",
            )
    msisdn = mvno_numbers(users, seed) if market is None else _market_numbers(market, users, seed)
    pop = make_population(msisdn, seed, start, days)
    _clear(out)
    parts = PART_ROWS if target_calls is not None and target_calls > PART_ROWS else None
    writers = {
        "calls": PartWriter(out / "calls", CALL_SCHEMA, fmt, parts),
        "messages": PartWriter(out / "messages", MESSAGE_SCHEMA, fmt, None),
        "complaints": PartWriter(out / "complaints", COMPLAINT_SCHEMA, fmt, None),
    }
    bad: dict[str, dict[str, int]] = {"calls": {}, "messages": {}}
    draws: list[ComplaintDraw] = []
    per_day = expected_out(pop) * days
    customers = np.zeros(pop.size, dtype=np.int64)
    background = _Background(progress)
    try:
        for day in range(days):
            d, calls, messages = _day(pop, seed, start, day, customers)
            spoiler = np.random.default_rng([seed, 0x424144, day])
            for fields, on_day in (
                ((calls.owner, calls.other, calls.direction, calls.t), day),
                ((messages.owner, messages.other, messages.direction, messages.t), None),
            ):
                draws.append(draw_complaints(pop, d.rng, fields, on_day, per_day))
            for name, records in (("calls", calls), ("messages", messages)):
                for lo in range(0, len(records), CHUNK_ROWS):
                    piece = records.take(slice(lo, min(lo + CHUNK_ROWS, len(records))))
                    table = _TABLES[name](pop, piece, d.rng, fmt)
                    if fmt == "csv":
                        table, counts = spoil(table, spoiler, BAD_ROW_SHARE)
                        for reason, k in counts.items():
                            bad[name][reason] = bad[name].get(reason, 0) + k
                    background.write(writers[name], table, name == "calls")
            del calls, messages
        complaint_rng = np.random.default_rng([seed, 0x434F4D50])
        background.write(
            writers["complaints"], _complaints_table(pop, draws, complaint_rng, fmt), False
        )
        background.drain()
    finally:
        background.close()
        for writer in writers.values():
            writer.close()
    _write_people(out, pop)
    mistaken = int(sum(int(d.mistaken.sum()) for d in draws))
    complained = sum(int(d.reported.size) for d in draws)
    truth = TrafficTruth(
        seed=seed,
        users=users,
        days=days,
        start=start.isoformat(),
        format=fmt,
        market=None if market is None else str(market),
        target_calls=target_calls,
        kinds=pop.counts,
        sim_pool_groups=int(pop.group_handsets.size),
        rows={name: w.rows for name, w in writers.items()},
        bad_rows=sum(sum(c.values()) for c in bad.values()),
        bad_rows_by_reason=bad,
        complaints={"against_nuisance": complained - mistaken, "mistaken": mistaken},
        files={name: [str(p.relative_to(out)) for p in w.files] for name, w in writers.items()},
    )
    (out / "truth.json").write_text(truth.to_json(), encoding="utf-8")
    return truth
