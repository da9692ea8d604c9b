"""Screening an operator's records: ingest, features, content scores, rules, the risk list.

:func:`screen` is what ``mvnoguard detect`` runs. The records are ingested (validated, bad
rows quarantined, numbers in E.164), the behaviour features computed by the portable pipeline
(:mod:`mvnoguard.analytics.traffic_features`, DuckDB by default, Spark for scale), message
texts scored by the SMS content model when one is given, and the rules of
:mod:`mvnoguard.detection.rules` judge the candidates: numbers whose worst day, handsets or
complaints make them worth scoring. Only findings leave the engine.
"""

from __future__ import annotations

import fcntl
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb

from mvnoguard.analytics.engines import EngineName
from mvnoguard.analytics.traffic_features import FeatureFiles, compute_features
from mvnoguard.analytics.traffic_typing import sql_literal
from mvnoguard.detection.rules import Finding, judge
from mvnoguard.errors import Conflict
from mvnoguard.output_paths import output_file, output_folder, write_csv

if TYPE_CHECKING:
    import pyarrow as pa

    from mvnoguard.analytics.traffic_ingest import IngestResult, TrafficTable
    from mvnoguard.detection.behaviour_model import BehaviourModel
    from mvnoguard.detection.settings import DetectionSettings

__all__ = ["RISK_LIST_COLUMNS", "Screening", "candidates", "screen", "write_risk_list"]

RISK_LIST_COLUMNS = ("msisdn", "category", "score", "reasons")


@dataclass(frozen=True, slots=True)
class Screening:
    """What one run found, and what it read."""

    findings: list[Finding]
    ingested: list[IngestResult]
    features: FeatureFiles
    numbers_seen: int
    table: pa.Table  # the candidates the rules judged
    out: Path | None = None

    @property
    def candidates(self) -> int:
        return int(self.table.num_rows)

    def summary(self) -> dict[str, Any]:
        by_category = Counter(f.category.value for f in self.findings)
        body: dict[str, Any] = {
            "records": {
                r.table: {
                    "accepted": r.accepted,
                    "quarantined": r.quarantined,
                    "quarantine_file": str(r.quarantine_file) if r.quarantine_file else None,
                }
                for r in self.ingested
            },
            "numbers_seen": self.numbers_seen,
            "candidates": self.candidates,
            "flagged": len(self.findings),
            "by_category": dict(sorted(by_category.items())),
            "risk_list": str(self.out) if self.out else None,
        }
        return body


def _peaks_sql(daily: str, numbers: str, s: DetectionSettings) -> str:
    """Each candidate number's window figures and its worst day for every rule (DuckDB)."""
    floor = s.candidate_floors()
    return f"""
    WITH d AS (SELECT * FROM read_parquet({sql_literal(daily)})),
    peaks AS (
      SELECT msisdn,
        arg_max(day, strangers) AS f_day, max(strangers) AS f_strangers,
        arg_max(callees, strangers) AS f_callees, arg_max(calls_out, strangers) AS f_calls,
        arg_max(day, most_unreturned_calls_to_one) AS h_day,
        max(most_unreturned_calls_to_one) AS h_calls_to_one,
        arg_max(calls_out, most_unreturned_calls_to_one) AS h_calls,
        arg_max(answered_out, most_unreturned_calls_to_one) AS h_answered,
        arg_max(night_out, most_unreturned_calls_to_one) AS h_night,
        arg_max(day, unanswered_out) AS r_day, max(unanswered_out) AS r_unanswered,
        arg_max(calls_out, unanswered_out) AS r_calls,
        arg_max(strangers, unanswered_out) AS r_strangers,
        arg_max(callees, unanswered_out) AS r_callees,
        arg_max(day, messages_out) AS s_day, max(messages_out) AS s_messages,
        arg_max(message_recipients, messages_out) AS s_recipients,
        arg_max(message_strangers, messages_out) AS s_strangers,
        arg_max(spam_messages_out, messages_out) AS s_spam,
        arg_max(CASE WHEN spam_score_max IS NULL THEN 0 ELSE 1 END, messages_out) AS s_scored
      FROM d GROUP BY msisdn
    )
    SELECT n.*, p.* EXCLUDE (msisdn),
      CASE WHEN n.activated_at IS NULL THEN -1
           ELSE date_diff('day', CAST(n.activated_at + INTERVAL 8 HOUR AS DATE), n.first_day)
      END AS days_active_before
    FROM read_parquet({sql_literal(numbers)}) n JOIN peaks p USING (msisdn)
    WHERE p.f_strangers >= {floor["strangers"]}
       OR p.h_calls_to_one >= {floor["calls_to_one"]}
       OR p.r_unanswered >= {floor["unanswered"]}
       OR p.s_messages >= {floor["messages"]}
       OR n.imei_sharing >= {floor["sharing"]}
       OR n.complaints >= {floor["complaints"]}
    ORDER BY n.msisdn
    """


def candidates(features: FeatureFiles, settings: DetectionSettings) -> tuple[pa.Table, int]:
    """The candidate rows (see :func:`_peaks_sql`) and how many numbers the records hold."""
    with duckdb.connect() as con:
        # days_active_before casts a timestamp to a date, which follows the session's zone:
        # pinned to UTC as in the feature engines, or the machine's zone would move the day.
        con.execute("SET TimeZone = 'UTC'")
        table = con.sql(
            _peaks_sql(features.daily_glob, features.numbers_glob, settings)
        ).to_arrow_table()
        numbers = sql_literal(features.numbers_glob)
        seen = con.sql(f"SELECT count(*) FROM read_parquet({numbers})").fetchall()
    return table, int(seen[0][0])


@contextmanager
def _sole_user(work: Path) -> Iterator[None]:
    """Hold ``work`` for one run: two runs at once would replace each other's records and
    features under each other's feet (``home_busy`` for the second, which changes nothing)."""
    output_folder(work, field="home")
    with (work / ".screening.lock").open("a") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise Conflict(
                f"another detection run is using {work}; wait for it to finish, or give this "
                "one another --home",
                code="home_busy",
                field="home",
            ) from None
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def write_risk_list(findings: Sequence[Finding], out: Path) -> None:
    """The risk list as CSV: ``msisdn, category, score, reasons`` (reasons joined by ``; ``)."""
    from mvnoguard.analytics.traffic_ingest import e164_text

    rows = (
        (e164_text(f.msisdn), f.category.value, f"{f.score:.3f}", "; ".join(f.reasons))
        for f in findings
    )
    write_csv(out, RISK_LIST_COLUMNS, rows)


def screen(
    *,
    calls: Sequence[Path],
    work: Path,
    quarantine_dir: Path,
    settings: DetectionSettings,
    messages: Sequence[Path] = (),
    complaints: Sequence[Path] = (),
    activations: Path | None = None,
    content_scorer: Callable[[Path, Path], Path] | None = None,
    behaviour_model: BehaviourModel | None = None,
    engine: EngineName = "duckdb",
    out: Path | None = None,
    progress: Callable[[str, int], None] | None = None,
) -> Screening:
    """Screen the records; write the risk list to ``out`` when given.

    ``work`` holds the normalised records and the features (replaced on every run);
    ``content_scorer(messages_dir, out_file)`` scores the distinct message texts and returns
    the Parquet file of ``content, spam_score, is_spam`` it wrote; ``behaviour_model`` adds its
    nuisance probability to the rules' strengths.
    """

    def report(table: str) -> Callable[[int], None] | None:
        if progress is None:
            return None
        return lambda rows: progress(table, rows)

    from mvnoguard.analytics.traffic_ingest import ingest

    if out is not None:  # before the work: a risk list that cannot be written wastes it all
        inputs = [*calls, *messages, *complaints, *([activations] if activations else [])]
        output_file(out, inputs=inputs)
    sources: list[tuple[TrafficTable, Sequence[Path]]] = [
        ("calls", calls),
        ("messages", messages),
        ("activations", [activations] if activations is not None else []),
        ("complaints", complaints),
    ]
    with _sole_user(work):
        ingested = [
            ingest(table, files, work / table, quarantine_dir, progress=report(table))
            for table, files in sources
            if files or table == "calls"  # calls always: the features rest on them
        ]
        scores = None
        if messages and content_scorer is not None:
            scores = content_scorer(work / "messages", work / "content_scores.parquet")
        features = compute_features(
            work / "calls",
            out_dir=work / "features",
            messages=work / "messages" if messages else None,
            complaints=work / "complaints" if complaints else None,
            activations=work / "activations" if activations is not None else None,
            content_scores=scores,
            engine=engine,
        )
        table, seen = candidates(features, settings)
        behaviour = behaviour_model.probabilities(table) if behaviour_model else None
        findings = judge(table, settings, behaviour)
        if out is not None:
            write_risk_list(findings, out)
    return Screening(
        findings=findings,
        ingested=ingested,
        features=features,
        numbers_seen=seen,
        table=table,
        out=out,
    )
