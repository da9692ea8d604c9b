"""Behaviour features of call and message records: one definition, run on DuckDB or Spark.

The inputs are the normalised Parquet of :mod:`mvnoguard.analytics.traffic_ingest` (numbers as
E.164 digits in ``int64``, aware UTC timestamps). The output is two Parquet tables:

``daily``
    one row per number and Beijing day on which it placed calls or sent messages, with the
    volumes, counterparts and ratios the detectors judge a day by;
``numbers``
    one row per number seen in the records, with the same figures over the whole window plus
    what only the window shows: reciprocity, repeat contacts, handsets shared with other
    numbers (SIM pools), days since activation, complaints.

Definitions (every engine computes exactly these):

* a *counterpart* of a number is a number it exchanged a call with (either direction);
* a callee is a *stranger* on day ``d`` when that day is the first on which the number called
  it and the callee had not called the number on or before ``d`` in the window;
* a stranger *called back* when it placed a call to the number on a later day of the window;
* a callee is a *repeat contact* when the number called it on two or more days;
* a counterpart is *reciprocal* when calls went both ways within the window;
* a call is *unanswered* at ``duration_s = 0``, *short* when answered for at most
  ``SHORT_CALL_S`` seconds, a *night* call when placed from 22:00 to 05:59 Beijing time;
* a handset's *sharing* is the number of distinct numbers seen with that IMEI in the window;
  a number's ``imei_sharing`` is the largest sharing among its handsets.

Strangers and call-backs are judged on whole days rather than on call order within a day: a
callee that called first on the same day counts as known. The pipeline never collects rows
into Python. It runs in three stages, each one query an engine writes straight to Parquet:
``handsets`` (calls per number, day, cell and IMEI: small, and every handset figure is counted
from it, so the records are read only twice in all), then ``daily``, then ``numbers``. The
``daily`` stage judges each pair-day (number, counterpart, day) by three dates of its pair, the
first and last day the number called it and the first day it called the number, which it
joins back to the pair's days: every pair figure above follows from those.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import ibis
import ibis.expr.datatypes as dt

from mvnoguard.analytics.engines import Engine, EngineName, open_engine, unique_name
from mvnoguard.errors import DataFileError

if TYPE_CHECKING:
    from ibis.expr.types import Table

__all__ = [
    "DAILY_COLUMNS",
    "NUMBER_COLUMNS",
    "SHORT_CALL_S",
    "FeatureFiles",
    "FeatureStages",
    "StageCompiler",
    "TrafficTables",
    "compile_features",
    "compute_features",
    "features_on",
    "records_pattern",
]

SHORT_CALL_S = 10
BEIJING = timedelta(hours=8)
NIGHT_FROM, NIGHT_UNTIL = 22, 6  # [22:00, 06:00) Beijing time

CALLS_SCHEMA = ibis.schema(
    {
        "msisdn": dt.int64,
        "other_party": dt.int64,
        "direction": dt.string,
        "start_time": dt.Timestamp(timezone="UTC"),
        "duration_s": dt.int32,
        "cell_id": dt.string,
        "imei": dt.string,
    }
)
MESSAGES_SCHEMA = ibis.schema(
    {
        "msisdn": dt.int64,
        "other_party": dt.int64,
        "direction": dt.string,
        "sent_at": dt.Timestamp(timezone="UTC"),
        "content": dt.string,
    }
)
COMPLAINTS_SCHEMA = ibis.schema(
    {
        "reported_number": dt.int64,
        "category": dt.string,
        "received_at": dt.Timestamp(timezone="UTC"),
        "text": dt.string,
    }
)
ACTIVATIONS_SCHEMA = ibis.schema({"msisdn": dt.int64, "activated_at": dt.Timestamp(timezone="UTC")})
# A text's score and whether it is spam at the content model's own threshold (which the model
# chose by cross-validation; ``model predict sms`` judges by it too).
CONTENT_SCORES_SCHEMA = ibis.schema(
    {"content": dt.string, "spam_score": dt.float64, "is_spam": dt.boolean}
)

_CALL_COUNTS = ("calls_out", "calls_in", "answered_out", "unanswered_out", "short_out")
_CALL_SUMS = (*_CALL_COUNTS, "talk_s_out", "night_out")
_CALLEE_COUNTS = ("callees", "strangers", "strangers_called_back", "repeat_callees", "callers")
_FIRST_CONTACTS = ("new_counterpart", "new_callee", "new_reciprocal_callee", "new_repeat_callee")
_MESSAGE_SUMS = ("messages_out", "messages_in", "message_recipients", "message_strangers")

_DAILY_COUNTS = (
    *_CALL_SUMS,
    *_CALLEE_COUNTS,
    "most_calls_to_one",
    "most_unreturned_calls_to_one",
    *(f"{name}s" for name in _FIRST_CONTACTS),
    "cells",
    "imeis",
    *_MESSAGE_SUMS,
    "spam_messages_out",
)

DAILY_COLUMNS: tuple[str, ...] = ("msisdn", "day", *_DAILY_COUNTS, "spam_score_max")
"""The ``daily`` table's columns, in order."""

_NUMBER_COUNTS = (
    "active_days",
    *_CALL_SUMS,
    "counterparts",
    "callees",
    "reciprocal_callees",
    "strangers",
    "strangers_called_back",
    "repeat_callees",
    "cells",
    "imeis",
    "imei_sharing",
    *_MESSAGE_SUMS,
    "spam_messages_out",
    "complaints",
)

NUMBER_COLUMNS: tuple[str, ...] = (
    "msisdn",
    "first_day",
    "last_day",
    *_NUMBER_COUNTS,
    "spam_score_max",
    "complaint_category",
    "activated_at",
)
"""The ``numbers`` table's columns, in order."""

INPUT_TABLES = ("calls", "messages", "complaints", "activations", "content_scores")
STAGES = ("handsets", "daily")  # intermediate outputs later stages read


@dataclass(frozen=True, slots=True)
class TrafficTables:
    """The pipeline's inputs as unbound Ibis tables, named as the engine registered them."""

    calls: Table
    messages: Table
    complaints: Table
    activations: Table
    content_scores: Table

    @classmethod
    def named(cls, names: dict[str, str]) -> TrafficTables:
        schemas: dict[str, ibis.Schema] = {
            "calls": CALLS_SCHEMA,
            "messages": MESSAGES_SCHEMA,
            "complaints": COMPLAINTS_SCHEMA,
            "activations": ACTIVATIONS_SCHEMA,
            "content_scores": CONTENT_SCORES_SCHEMA,
        }
        return cls(**{key: ibis.table(schemas[key], name=names[key]) for key in schemas})


@dataclass(frozen=True, slots=True)
class FeatureFiles:
    """Where :func:`compute_features` wrote its tables (folders of Parquet files)."""

    daily: Path
    numbers: Path

    @property
    def daily_glob(self) -> str:
        return str(self.daily / "*.parquet")

    @property
    def numbers_glob(self) -> str:
        return str(self.numbers / "*.parquet")


def _whole(value: ibis.expr.types.NumericValue) -> ibis.expr.types.IntegerValue:
    """A count or sum as ``int64``, 0 where missing (DuckDB widens integer sums otherwise).

    The cast is to a non-null ``int64``: Ibis types a sum as ``int64`` already and drops a cast
    to that very type, while this one it keeps, as one plain ``CAST(... AS BIGINT)``."""
    return value.fill_null(0).cast(dt.Int64(nullable=False))


def _beijing(instant: ibis.expr.types.TimestampValue) -> ibis.expr.types.TimestampValue:
    """The Beijing wall-clock time of a UTC timestamp column, as a naive timestamp.

    One cast to a naive timestamp (in the session's zone, which the engines pin to UTC), then
    plain arithmetic: on DuckDB, each step on an aware timestamp is a time-zone calendar call."""
    return instant.cast(dt.Timestamp()) + ibis.interval(BEIJING)


def _count(table: Table, condition: ibis.expr.types.BooleanValue) -> ibis.expr.types.IntegerValue:
    """Rows of ``table`` meeting ``condition``: ``COUNT(*) FILTER`` on DuckDB, measurably
    cheaper than summing 0/1 flags (which DuckDB accumulates in 128-bit integers)."""
    return table.count(where=condition)


def _pair_days(calls: Table) -> Table:
    """Calls grouped per (number, counterpart, Beijing day)."""
    local = _beijing(calls.start_time)
    rows = calls.select(
        "msisdn", "other_party", "direction", "duration_s", day=local.date(), hour=local.hour()
    )
    out = rows.direction == "out"
    return rows.group_by(["msisdn", "other_party", "day"]).aggregate(
        calls_out=_count(rows, out),
        calls_in=_count(rows, rows.direction == "in"),
        answered_out=_count(rows, out & (rows.duration_s > 0)),
        unanswered_out=_count(rows, out & (rows.duration_s == 0)),
        short_out=_count(rows, out & (rows.duration_s > 0) & (rows.duration_s <= SHORT_CALL_S)),
        talk_s_out=out.ifelse(rows.duration_s.cast("int64"), 0).sum(),
        night_out=_count(rows, out & ((rows.hour >= NIGHT_FROM) | (rows.hour < NIGHT_UNTIL))),
    )


def _pairs(pair_days: Table) -> Table:
    """Per (number, counterpart): the first and last day it called, the first it was called.

    These three dates are all a pair-day's standing over the window needs: the counterpart
    ever called the number exactly when ``first_in`` is set."""
    p = pair_days
    out, inbound = p.calls_out > 0, p.calls_in > 0
    return p.group_by(["msisdn", "other_party"]).aggregate(
        first_out=p.day.min(where=out),
        last_out=p.day.max(where=out),
        first_in=p.day.min(where=inbound),
    )


def _call_days(pair_days: Table) -> Table:
    """Calls per number and day, each pair-day judged by its pair's dates (stranger, ...)."""
    j = pair_days.inner_join(_pairs(pair_days), ["msisdn", "other_party"])
    first_called = j.first_out == j.day  # implies a call out that day
    repeated = j.last_out > j.first_out
    return j.group_by(["msisdn", "day"]).aggregate(
        **{name: j[name].sum() for name in _CALL_SUMS},
        callees=_count(j, j.calls_out > 0),
        strangers=_count(j, first_called & (j.first_in.isnull() | (j.first_in > j.day))),
        strangers_called_back=_count(j, first_called & (j.first_in > j.day)),
        repeat_callees=_count(j, (j.calls_out > 0) & repeated),
        callers=_count(j, j.calls_in > 0),
        most_calls_to_one=j.calls_out.max(),
        most_unreturned_calls_to_one=j.calls_out.max(where=j.first_in.isnull()),
        # Counted once, on the day of first contact, so that sums over days are distinct counts.
        new_counterparts=_count(j, ibis.least(j.first_out, j.first_in) == j.day),
        new_callees=_count(j, first_called),
        new_reciprocal_callees=_count(j, first_called & j.first_in.notnull()),
        new_repeat_callees=_count(j, first_called & repeated),
    )


def handsets_expression(calls: Table) -> Table:
    """Calls per (number, Beijing day, cell, handset): the small table every handset figure
    is counted from, so the records are read once for all of them."""
    c = calls
    rows = c.select("msisdn", "cell_id", "imei", day=_beijing(c.start_time).date())
    return rows.group_by(["msisdn", "day", "cell_id", "imei"]).aggregate(calls=rows.count())


def _handset_days(handsets: Table) -> Table:
    h = handsets
    return h.group_by(["msisdn", "day"]).aggregate(
        cells=h.cell_id.nunique(), imeis=h.imei.nunique()
    )


def _message_days(messages: Table, scores: Table) -> Table:
    """Messages per number and Beijing day; recipients that never wrote back are strangers."""
    m = messages
    joined = m.left_join(scores, m.content == scores.content)
    rows = joined.select(
        "msisdn",
        "other_party",
        "direction",
        "spam_score",
        "is_spam",
        day=_beijing(joined.sent_at).date(),
    )
    out = rows.direction == "out"
    pair_days = rows.group_by(["msisdn", "other_party", "day"]).aggregate(
        out=_count(rows, out),
        inbound=_count(rows, rows.direction == "in"),
        spam=_count(rows, out & rows.is_spam),
        score=rows.spam_score.max(where=out),
    )
    pairs = pair_days.group_by(["msisdn", "other_party"]).aggregate(replies=pair_days.inbound.sum())
    j = pair_days.inner_join(pairs, ["msisdn", "other_party"])
    return j.group_by(["msisdn", "day"]).aggregate(
        messages_out=j.out.sum(),
        messages_in=j.inbound.sum(),
        message_recipients=_count(j, j.out > 0),
        message_strangers=_count(j, (j.out > 0) & (j.replies == 0)),
        spam_messages_out=j.spam.sum(),
        spam_score_max=j.score.max(),
    )


def daily_expression(tables: TrafficTables, handsets: Table) -> Table:
    """The ``daily`` table: calls, handsets and messages per number and Beijing day."""
    calls = _call_days(_pair_days(tables.calls))
    handsets = _handset_days(handsets)
    calls = calls.left_join(handsets, ["msisdn", "day"]).select(*calls.columns, "cells", "imeis")
    messages = _message_days(tables.messages, tables.content_scores)
    both = calls.outer_join(messages, ["msisdn", "day"])
    return both.select(
        msisdn=ibis.coalesce(both.msisdn, both.msisdn_right),
        day=ibis.coalesce(both.day, both.day_right),
        **{name: _whole(both[name]) for name in _DAILY_COUNTS},
        spam_score_max=both.spam_score_max.cast("float64"),
    )


def _handsets(per_day: Table) -> Table:
    """Per number over the window: distinct cells and handsets, and its handsets' sharing."""
    c = per_day
    handsets = c.select("msisdn", "imei").filter(c.imei.notnull()).distinct()
    sharing = handsets.group_by("imei").aggregate(sharing=handsets.count())
    shared = handsets.inner_join(sharing, "imei")
    imei_sharing = shared.group_by("msisdn").aggregate(
        imei_sharing=shared.sharing.max(), imeis=shared.count()
    )
    cells = (
        c.select("msisdn", "cell_id")
        .filter(c.cell_id.notnull())
        .distinct()
        .group_by("msisdn")
        .aggregate(cells=ibis._.count())
    )
    return imei_sharing.outer_join(cells, "msisdn").select(
        msisdn=ibis.coalesce(ibis._.msisdn, ibis._.msisdn_right),
        imei_sharing=ibis._.imei_sharing,
        imeis=ibis._.imeis,
        cells=ibis._.cells,
    )


def numbers_expression(daily: Table, handsets: Table, tables: TrafficTables) -> Table:
    """The ``numbers`` table: the window's figures per number, from ``daily`` and the inputs."""
    d = daily
    totals = d.group_by("msisdn").aggregate(
        active_days=d.count(),
        first_day=d.day.min(),
        last_day=d.day.max(),
        **{
            name: d[name].sum()
            for name in (
                *_CALL_SUMS,
                "strangers",
                "strangers_called_back",
                *_MESSAGE_SUMS,
                "spam_messages_out",
            )
        },
        counterparts=d.new_counterparts.sum(),
        callees=d.new_callees.sum(),
        reciprocal_callees=d.new_reciprocal_callees.sum(),
        repeat_callees=d.new_repeat_callees.sum(),
        spam_score_max=d.spam_score_max.max(),
    )
    window = _handsets(handsets)
    cm = tables.complaints
    per_category = cm.group_by(["reported_number", "category"]).aggregate(n=cm.count())
    ranked = per_category.mutate(
        rank=ibis.row_number().over(
            group_by=per_category.reported_number,
            order_by=[ibis.desc(per_category.n), per_category.category],
        )
    )
    complaints = ranked.group_by("reported_number").aggregate(
        complaints=ranked.n.sum(),
        complaint_category=(ranked["rank"] == 0).ifelse(ranked.category, ibis.null("string")).max(),
    )
    act = tables.activations
    activations = act.group_by("msisdn").aggregate(activated_at=act.activated_at.max())
    j = (
        totals.left_join(window, "msisdn")
        .left_join(complaints, totals.msisdn == complaints.reported_number)
        .left_join(activations, totals.msisdn == activations.msisdn)
    )
    return j.select(
        msisdn=totals.msisdn,
        first_day=j.first_day,
        last_day=j.last_day,
        **{name: _whole(j[name]) for name in _NUMBER_COUNTS},
        spam_score_max=j.spam_score_max.cast("float64"),
        complaint_category=j.complaint_category,
        activated_at=j.activated_at,
    )


def _ensure_compiler(dialect: str) -> None:
    if dialect == "pyspark" and ibis.options.pyspark is None:
        # Ibis's pyspark compiler reads options that only its backend class registers.
        importlib.import_module("ibis.backends.pyspark").Backend.register_options()


@dataclass(frozen=True, slots=True)
class FeatureStages:
    """The SQL of the three stages, in order; each later one reads the earlier ones' output."""

    handsets: str
    daily: str
    numbers: str


class StageCompiler(Protocol):
    """Builds the stages' SQL for one dialect over the tables ``names`` binds."""

    def __call__(self, names: dict[str, str], *, dialect: str) -> FeatureStages: ...


def compile_features(names: dict[str, str], *, dialect: str) -> FeatureStages:
    """The stages' SQL for one dialect. ``names`` binds the inputs and ``handsets`` and
    ``daily``, the names the engine registers the first two stages' output under."""
    _ensure_compiler(dialect)
    tables = TrafficTables.named(names)
    handsets = handsets_expression(tables.calls)
    handsets_table = ibis.table(handsets.schema(), name=names["handsets"])
    daily = daily_expression(tables, handsets_table).order_by(["msisdn", "day"])
    daily_table = ibis.table(daily.schema(), name=names["daily"])
    numbers = numbers_expression(daily_table, handsets_table, tables).order_by("msisdn")
    return FeatureStages(
        *(str(ibis.to_sql(stage, dialect=dialect)) for stage in (handsets, daily, numbers))
    )


def features_on(
    engine: Engine,
    *,
    calls: str | Path,
    out_dir: Path,
    messages: str | Path | None = None,
    complaints: str | Path | None = None,
    activations: str | Path | None = None,
    content_scores: Path | None = None,
    stages_of: StageCompiler = compile_features,
) -> FeatureFiles:
    """Compute the tables on an open engine; inputs are Parquet files, folders or globs
    (:func:`records_pattern`).

    ``stages_of`` writes the stages' SQL (by default this module's Ibis definition; the
    benchmark's hand-written baseline passes its own, to run on exactly the same path).
    """
    names = {table: unique_name(table) for table in (*INPUT_TABLES, *STAGES)}
    files = FeatureFiles(daily=out_dir / "daily", numbers=out_dir / "numbers")
    handsets_dir = out_dir / "handsets"
    sources = {
        "calls": (records_pattern(calls), CALLS_SCHEMA),
        "messages": (records_pattern(messages, "messages"), MESSAGES_SCHEMA),
        "complaints": (records_pattern(complaints, "complaints"), COMPLAINTS_SCHEMA),
        "activations": (records_pattern(activations, "activations"), ACTIVATIONS_SCHEMA),
        "content_scores": (str(content_scores) if content_scores else None, CONTENT_SCORES_SCHEMA),
    }
    try:
        for table, (source, schema) in sources.items():
            if source is None:
                engine.register_arrow(names[table], schema.to_pyarrow().empty_table())
            else:
                engine.register_parquet(names[table], source)
        stages = stages_of(names, dialect=engine.dialect)
        engine.write_parquet(stages.handsets, handsets_dir)
        engine.register_parquet(names["handsets"], str(handsets_dir / "*.parquet"))
        engine.write_parquet(stages.daily, files.daily)
        engine.register_parquet(names["daily"], files.daily_glob)
        engine.write_parquet(stages.numbers, files.numbers)
    finally:
        for name in names.values():
            engine.drop(name)
    return files


def compute_features(
    calls: str | Path,
    *,
    out_dir: Path,
    messages: str | Path | None = None,
    complaints: str | Path | None = None,
    activations: str | Path | None = None,
    content_scores: Path | None = None,
    engine: EngineName = "duckdb",
) -> FeatureFiles:
    """Features of normalised call (and message) records, written under ``out_dir``.

    Each input is a Parquet file, a folder of Parquet files or a glob, in the schemas of
    :mod:`mvnoguard.analytics.traffic_ingest`; ``content_scores`` maps message texts to spam
    scores (see :mod:`mvnoguard.detection.content`).
    """
    with open_engine(engine) as running:
        return features_on(
            running,
            calls=calls,
            out_dir=out_dir,
            messages=messages,
            complaints=complaints,
            activations=activations,
            content_scores=content_scores,
        )


def records_pattern(source: str | Path | None, field: str = "calls") -> str | None:
    """A Parquet file, a folder of Parquet files or a glob, as the path or glob engines read;
    :class:`DataFileError` for a file that does not exist, naming ``field`` (the input it was
    given as: calls, messages, complaints or activations)."""
    if source is None:
        return None
    path = Path(source)
    if path.is_dir():
        return str(path / "*.parquet")
    if not any(ch in str(source) for ch in "*?[") and not path.exists():
        raise DataFileError(f"no such records file: {source}", field=field)
    return str(source)
