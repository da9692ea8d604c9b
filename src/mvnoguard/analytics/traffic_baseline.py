"""The behaviour features as hand-written DuckDB SQL: the yardstick of the feature pipeline.

It is not the features (that is :mod:`mvnoguard.analytics.traffic_features`, one definition for
DuckDB and Spark): it is what the benchmark times the pipeline against, and a test checks that
it writes the very same tables, so the comparison is between equal work. It is written the way
one would write the features for DuckDB alone, for speed:

* the calls are read twice, each time for the few columns one stage needs: once for the
  handsets (number, day, cell, IMEI) and once for the pair-days (number, counterpart, day);
* a pair-day's standing over the window (stranger, call-back, repeat contact) comes from three
  dates per pair, ``first_out``, ``last_out`` and ``first_in``, joined back to its pair-days:
  a pair was called back exactly when ``first_in`` is set, so no other pair figure is needed;
* Beijing time is integer arithmetic on the UTC microseconds: no time-zone lookups, and no
  dependence on the session's time zone (the pipeline's portable SQL casts in it, which the
  DuckDB engine pins to UTC).

Only the thresholds and the output column lists come from the pipeline's module, so that the
two cannot drift apart on what they are asked to compute; and the queries run on the
pipeline's own path (``features_on``: inputs registered, absent ones as empty tables, each
stage written to Parquet), so the two differ in their SQL alone. The queries are templates
whose ``{calls}``, ``{handsets}``, ... stand for the names that path registers the tables
under. The inputs are the ingest's, where numbers, directions, times and durations are never
NULL.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from mvnoguard.analytics.engines import DEFAULT_MEMORY_LIMIT, DuckDBEngine
from mvnoguard.analytics.traffic_features import (
    BEIJING,
    DAILY_COLUMNS,
    NIGHT_FROM,
    NIGHT_UNTIL,
    NUMBER_COLUMNS,
    SHORT_CALL_S,
    FeatureFiles,
    FeatureStages,
    features_on,
)
from mvnoguard.errors import ConfigurationError

__all__ = [
    "DAILY_SQL",
    "HANDSETS_SQL",
    "NUMBERS_SQL",
    "hand_written_features",
    "hand_written_stages",
]

_BEIJING_US = BEIJING // timedelta(microseconds=1)
_SEP = ",\n        "


def _beijing(instant: str) -> str:
    """The Beijing wall-clock time of a UTC timestamp column, as a naive timestamp."""
    return f"make_timestamp(epoch_us({instant}) + {_BEIJING_US})"


def _final(columns: tuple[str, ...]) -> str:
    """The output list of a table: keys and labels as they are, every count an ``int64``
    that is 0 where the figure is missing, the spam score a ``float64``."""
    kept = {"msisdn", "day", "first_day", "last_day", "complaint_category", "activated_at"}
    return ",\n    ".join(
        name
        if name in kept
        else f"CAST({name} AS DOUBLE) AS {name}"
        if name == "spam_score_max"
        else f"CAST(coalesce({name}, 0) AS BIGINT) AS {name}"
        for name in columns
    )


HANDSETS_SQL = f"""
SELECT msisdn, CAST({_beijing("start_time")} AS DATE) AS day, cell_id, imei, count(*) AS calls
FROM {{calls}}
GROUP BY ALL
"""

DAILY_SQL = f"""
WITH pair_days AS (
    SELECT
        msisdn, other_party, CAST(local_time AS DATE) AS day,
        count(*) FILTER (WHERE direction = 'out') AS calls_out,
        count(*) FILTER (WHERE direction = 'in') AS calls_in,
        count(*) FILTER (WHERE direction = 'out' AND duration_s > 0) AS answered_out,
        count(*) FILTER (WHERE direction = 'out' AND duration_s = 0) AS unanswered_out,
        count(*) FILTER (WHERE direction = 'out' AND duration_s > 0
                         AND duration_s <= {SHORT_CALL_S}) AS short_out,
        sum(duration_s) FILTER (WHERE direction = 'out') AS talk_s_out,
        count(*) FILTER (WHERE direction = 'out' AND (hour(local_time) >= {NIGHT_FROM}
                                                      OR hour(local_time) < {NIGHT_UNTIL}))
            AS night_out
    FROM (
        SELECT msisdn, other_party, direction, duration_s, {_beijing("start_time")} AS local_time
        FROM {{calls}}
    )
    GROUP BY ALL
),
pairs AS (
    SELECT
        msisdn, other_party,
        min(day) FILTER (WHERE calls_out > 0) AS first_out,
        max(day) FILTER (WHERE calls_out > 0) AS last_out,
        min(day) FILTER (WHERE calls_in > 0) AS first_in
    FROM pair_days
    GROUP BY ALL
),
call_days AS (
    SELECT
        d.msisdn, d.day,
        sum(calls_out) AS calls_out,
        sum(calls_in) AS calls_in,
        sum(answered_out) AS answered_out,
        sum(unanswered_out) AS unanswered_out,
        sum(short_out) AS short_out,
        sum(talk_s_out) AS talk_s_out,
        sum(night_out) AS night_out,
        count(*) FILTER (WHERE calls_out > 0) AS callees,
        count(*) FILTER (WHERE first_out = d.day AND (first_in IS NULL OR first_in > d.day))
            AS strangers,
        count(*) FILTER (WHERE first_out = d.day AND first_in > d.day) AS strangers_called_back,
        count(*) FILTER (WHERE calls_out > 0 AND last_out > first_out) AS repeat_callees,
        count(*) FILTER (WHERE calls_in > 0) AS callers,
        max(calls_out) AS most_calls_to_one,
        max(calls_out) FILTER (WHERE first_in IS NULL) AS most_unreturned_calls_to_one,
        -- Counted on the day of first contact only: summed over days, they count distinctly.
        count(*) FILTER (WHERE least(first_out, first_in) = d.day) AS new_counterparts,
        count(*) FILTER (WHERE first_out = d.day) AS new_callees,
        count(*) FILTER (WHERE first_out = d.day AND first_in IS NOT NULL)
            AS new_reciprocal_callees,
        count(*) FILTER (WHERE first_out = d.day AND last_out > first_out) AS new_repeat_callees
    FROM pair_days AS d
    JOIN pairs AS p ON p.msisdn = d.msisdn AND p.other_party = d.other_party
    GROUP BY ALL
),
handset_days AS (
    SELECT msisdn, day, count(DISTINCT cell_id) AS cells, count(DISTINCT imei) AS imeis
    FROM {{handsets}}
    GROUP BY ALL
),
message_pair_days AS (
    SELECT
        m.msisdn, m.other_party, CAST({_beijing("m.sent_at")} AS DATE) AS day,
        count(*) FILTER (WHERE m.direction = 'out') AS sent,
        count(*) FILTER (WHERE m.direction = 'in') AS received,
        count(*) FILTER (WHERE m.direction = 'out' AND s.is_spam) AS spam,
        max(s.spam_score) FILTER (WHERE m.direction = 'out') AS score
    FROM {{messages}} AS m
    LEFT JOIN {{content_scores}} AS s ON s.content = m.content
    GROUP BY ALL
),
message_pairs AS (
    SELECT msisdn, other_party, sum(received) AS replies
    FROM message_pair_days
    GROUP BY ALL
),
message_days AS (
    SELECT
        d.msisdn, d.day,
        sum(sent) AS messages_out,
        sum(received) AS messages_in,
        count(*) FILTER (WHERE sent > 0) AS message_recipients,
        count(*) FILTER (WHERE sent > 0 AND replies = 0) AS message_strangers,
        sum(spam) AS spam_messages_out,
        max(score) AS spam_score_max
    FROM message_pair_days AS d
    JOIN message_pairs AS p ON p.msisdn = d.msisdn AND p.other_party = d.other_party
    GROUP BY ALL
)
SELECT
    coalesce(c.msisdn, m.msisdn) AS msisdn,
    coalesce(c.day, m.day) AS day,
    {_final(DAILY_COLUMNS[2:])}
FROM call_days AS c
LEFT JOIN handset_days AS h ON h.msisdn = c.msisdn AND h.day = c.day
FULL JOIN message_days AS m ON m.msisdn = c.msisdn AND m.day = c.day
ORDER BY 1, 2
"""

# A first contact is counted on one day only, so these window totals are sums over days.
_FIRST_CONTACTS = {
    "counterparts": "new_counterparts",
    "callees": "new_callees",
    "reciprocal_callees": "new_reciprocal_callees",
    "repeat_callees": "new_repeat_callees",
}
# The other daily figures the window sums (cells and handsets are counted from ``handsets``).
_SUMMED = [
    name
    for name in NUMBER_COLUMNS[1:]
    if name in DAILY_COLUMNS and name not in {*_FIRST_CONTACTS, "cells", "imeis", "spam_score_max"}
]

NUMBERS_SQL = f"""
WITH totals AS (
    SELECT
        msisdn,
        min(day) AS first_day,
        max(day) AS last_day,
        count(*) AS active_days,
        {_SEP.join(f"sum({name}) AS {name}" for name in _SUMMED)},
        {_SEP.join(f"sum({daily}) AS {name}" for name, daily in _FIRST_CONTACTS.items())},
        max(spam_score_max) AS spam_score_max
    FROM {{daily}}
    GROUP BY msisdn
),
number_handsets AS (
    SELECT DISTINCT msisdn, imei FROM {{handsets}} WHERE imei IS NOT NULL
),
number_imeis AS (
    SELECT msisdn, count(*) AS imeis, max(sharing) AS imei_sharing
    FROM (SELECT msisdn, count(*) OVER (PARTITION BY imei) AS sharing FROM number_handsets)
    GROUP BY msisdn
),
number_cells AS (
    SELECT msisdn, count(DISTINCT cell_id) AS cells FROM {{handsets}} GROUP BY msisdn
),
complained AS (
    SELECT
        reported_number AS msisdn,
        sum(n) AS complaints,
        first(category ORDER BY n DESC, category) AS complaint_category
    FROM (SELECT reported_number, category, count(*) AS n FROM {{complaints}} GROUP BY ALL)
    GROUP BY reported_number
),
activated AS (
    SELECT msisdn, max(activated_at) AS activated_at FROM {{activations}} GROUP BY msisdn
)
SELECT
    {_final(NUMBER_COLUMNS)}
FROM totals
LEFT JOIN number_imeis USING (msisdn)
LEFT JOIN number_cells USING (msisdn)
LEFT JOIN complained USING (msisdn)
LEFT JOIN activated USING (msisdn)
ORDER BY msisdn
"""


def hand_written_stages(names: dict[str, str], *, dialect: str) -> FeatureStages:
    """The three queries over the tables ``names`` binds (a :class:`StageCompiler`)."""
    if dialect != "duckdb":
        raise ConfigurationError(f"the hand-written features are DuckDB SQL, not {dialect}")
    return FeatureStages(*(sql.format(**names) for sql in (HANDSETS_SQL, DAILY_SQL, NUMBERS_SQL)))


def hand_written_features(
    calls: str | Path,
    *,
    out_dir: Path,
    messages: str | Path | None = None,
    complaints: str | Path | None = None,
    activations: str | Path | None = None,
    content_scores: Path | None = None,
    memory_limit: str | None = DEFAULT_MEMORY_LIMIT,
    threads: int | None = None,
) -> FeatureFiles:
    """The tables of :func:`~mvnoguard.analytics.traffic_features.compute_features` (DuckDB),
    computed by the hand-written queries on the pipeline's own path (inputs registered, stages
    written to Parquet): ``handsets``, ``daily`` and ``numbers`` under ``out_dir``. Inputs as
    for ``compute_features``; ``memory_limit`` and ``threads`` as for its DuckDB engine (by
    default, the same).
    """
    engine = DuckDBEngine(memory_limit=memory_limit, threads=threads)
    try:
        return features_on(
            engine,
            calls=calls,
            out_dir=out_dir,
            messages=messages,
            complaints=complaints,
            activations=activations,
            content_scores=content_scores,
            stages_of=hand_written_stages,
        )
    finally:
        engine.close()
