"""Detection at scale: ingest and behaviour features of 100 million call records.

Generates (or reuses) synthetic traffic, then times, each step in a fresh process of its own so
that its peak memory is its own:

1. the ingest (``traffic_ingest.ingest``: typing, E.164, quarantine) to normalised Parquet;
2. the feature pipeline (``traffic_features.compute_features``, DuckDB) over that Parquet;
3. the baseline: the same features by hand-written DuckDB SQL
   (``analytics/traffic_baseline.hand_written_features``; tests check that its tables equal
   the pipeline's), over the same Parquet, written to Parquet the same way;
4. for scale, one plain DuckDB aggregate of the core per-number, per-Beijing-day counts only
   (none of the pair-level features), and pandas computing that aggregate over a slice (it
   cannot hold 100M rows in 24 GB), extrapolated to the whole file.

Prints a table and the figures as JSON. The issue's targets: features for 100M calls on 2
cores in under 3 minutes, within 1.5x of the hand-written baseline, peak memory under 8 GB.
Usage:

    .venv/bin/python benchmarks/detect.py [--records 100000000] [--threads 2] [--work DIR]
        [--reuse] [--pandas-rows 10000000] [--seed 7] [--duckdb-memory 6GB]

``--threads`` pins the whole benchmark (and every process it starts) to that many cores;
``--duckdb-memory`` is the memory limit of both DuckDB runs (the pipeline's engine otherwise
takes DuckDB's default, 80% of RAM, and grows past 8 GB on 100M rows).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import resource
import shutil
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import duckdb
import pyarrow.parquet as pq

StepResult = dict[str, Any]


def _peak_gb() -> float:
    """Peak resident memory of this process, in GB (Linux reports kilobytes)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2


def _in_own_process(step: Callable[..., StepResult], *args: Any) -> StepResult:
    """Run ``step`` in a fresh process; its result gains ``peak_gb``, that process's peak."""
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=1, mp_context=context) as pool:
        result = pool.submit(_measured, step, *args).result()
    print(f"{step.__name__}: {json.dumps(_rounded(result))}", flush=True)
    return result


def _measured(step: Callable[..., StepResult], *args: Any) -> StepResult:
    started = time.perf_counter()
    result = step(*args)
    result.setdefault("seconds", time.perf_counter() - started)
    usage = resource.getrusage(resource.RUSAGE_SELF)
    result["cpu_s"] = usage.ru_utime + usage.ru_stime  # the whole process, set-up included
    result["peak_gb"] = _peak_gb()
    result["load_after"] = os.getloadavg()[0]  # other work on the machine skews wall times
    return result


# ------------------------------------------------------------------------------------ steps


def generate(traffic: Path, records: int, seed: int) -> StepResult:
    from mvnoguard.synth.traffic import generate_traffic

    generate_traffic(traffic, fmt="parquet", target_calls=records, seed=seed)
    return {"rows": _rows(_calls_source(traffic))}


def ingest_calls(source: Path, out: Path, quarantine: Path) -> StepResult:
    from mvnoguard.analytics.traffic_ingest import ingest

    started = time.perf_counter()
    result = ingest("calls", [source], out, quarantine)
    return {
        "seconds": time.perf_counter() - started,
        "rows": result.accepted + result.quarantined,
        "accepted": result.accepted,
        "quarantined": result.quarantined,
    }


def features(calls: Path, out: Path, memory_limit: str | None) -> StepResult:
    from mvnoguard.analytics import engines
    from mvnoguard.analytics.traffic_features import compute_features

    if memory_limit:
        # The engine takes DuckDB's default (80% of RAM) unless told; give it the limit the
        # baseline gets, in this process only.
        start_engine = engines.DuckDBEngine.__init__

        def limited(
            self: engines.DuckDBEngine,
            *,
            memory_limit: str | None = memory_limit,
            threads: int | None = None,
        ) -> None:
            start_engine(self, memory_limit=memory_limit, threads=threads)

        engines.DuckDBEngine.__init__ = limited  # type: ignore[method-assign]
    shutil.rmtree(out, ignore_errors=True)
    started = time.perf_counter()
    files = compute_features(calls, out_dir=out, engine="duckdb")
    seconds = time.perf_counter() - started
    return {"seconds": seconds, "daily_rows": _rows(files.daily), "numbers": _rows(files.numbers)}


def same_features_baseline(calls: Path, out: Path, memory_limit: str | None) -> StepResult:
    from mvnoguard.analytics.traffic_baseline import hand_written_features

    shutil.rmtree(out, ignore_errors=True)
    started = time.perf_counter()
    files = hand_written_features(
        calls, out_dir=out, **({"memory_limit": memory_limit} if memory_limit else {})
    )
    seconds = time.perf_counter() - started
    return {"seconds": seconds, "daily_rows": _rows(files.daily), "numbers": _rows(files.numbers)}


def baseline_sql(calls_glob: str, short_call_s: int, night_from: int, night_until: int) -> str:
    """The core per-number, per-Beijing-day call features in one plain aggregate."""
    return f"""
    WITH c AS (
      SELECT msisdn, other_party, direction = 'out' AS is_out, duration_s, cell_id, imei,
             start_time::TIMESTAMP + INTERVAL 8 HOUR AS local_time
      FROM read_parquet('{calls_glob}'))
    SELECT msisdn, local_time::DATE AS day,
      count(*) FILTER (WHERE is_out) AS calls_out,
      count(*) FILTER (WHERE NOT is_out) AS calls_in,
      count(DISTINCT other_party) AS counterparts,
      count(*) FILTER (WHERE is_out AND duration_s > 0) AS answered_out,
      count(*) FILTER (WHERE is_out AND duration_s > 0 AND duration_s <= {short_call_s})
        AS short_out,
      coalesce(sum(duration_s) FILTER (WHERE is_out), 0) AS talk_s_out,
      count(*) FILTER (WHERE is_out AND (hour(local_time) >= {night_from}
                                         OR hour(local_time) < {night_until})) AS night_out,
      count(DISTINCT cell_id) AS cells,
      count(DISTINCT imei) AS imeis
    FROM c GROUP BY ALL
    """


def duckdb_baseline(calls: Path, out: Path, threads: int, memory_limit: str | None) -> StepResult:
    from mvnoguard.analytics.traffic_features import NIGHT_FROM, NIGHT_UNTIL, SHORT_CALL_S

    out.mkdir(parents=True, exist_ok=True)
    target = out / "baseline.parquet"
    scratch = Path(tempfile.mkdtemp(prefix="mvnoguard-bench-duckdb-"))
    con = duckdb.connect(config={"threads": threads, "temp_directory": str(scratch)})
    try:
        con.execute("SET TimeZone = 'UTC'")
        con.execute("SET enable_progress_bar = false")
        if memory_limit:
            con.execute(f"SET memory_limit = '{memory_limit}'")
        sql = baseline_sql(str(calls / "*.parquet"), SHORT_CALL_S, NIGHT_FROM, NIGHT_UNTIL)
        started = time.perf_counter()
        con.execute(f"COPY ({sql}) TO '{target}' (FORMAT parquet, COMPRESSION zstd)")
        seconds = time.perf_counter() - started
    finally:
        con.close()
        shutil.rmtree(scratch, ignore_errors=True)
    return {"seconds": seconds, "daily_rows": _rows(target)}


def pandas_baseline(calls: Path, rows: int) -> StepResult:
    """The same aggregate in pandas over the first ``rows`` ingested calls."""
    import pandas as pd
    import pyarrow as pa

    from mvnoguard.analytics.traffic_features import NIGHT_FROM, NIGHT_UNTIL, SHORT_CALL_S

    batches: list[pa.RecordBatch] = []
    taken = 0
    for part in sorted(calls.glob("*.parquet")):
        for batch in pq.ParquetFile(part).iter_batches(batch_size=1 << 20):
            batches.append(batch.slice(0, rows - taken))
            taken += batches[-1].num_rows
            if taken >= rows:
                break
        if taken >= rows:
            break
    frame = pa.Table.from_batches(batches).to_pandas()
    started = time.perf_counter()
    local = frame["start_time"] + pd.Timedelta(hours=8)
    hour = local.dt.hour
    is_out = frame["direction"] == "out"
    answered = is_out & (frame["duration_s"] > 0)
    work = pd.DataFrame(
        {
            "msisdn": frame["msisdn"],
            "day": local.dt.floor("D"),
            "other_party": frame["other_party"],
            "cell_id": frame["cell_id"],
            "imei": frame["imei"],
            "calls_out": is_out.astype("int64"),
            "calls_in": (~is_out).astype("int64"),
            "answered_out": answered.astype("int64"),
            "short_out": (answered & (frame["duration_s"] <= SHORT_CALL_S)).astype("int64"),
            "talk_s_out": frame["duration_s"].where(is_out, 0).astype("int64"),
            "night_out": (is_out & ((hour >= NIGHT_FROM) | (hour < NIGHT_UNTIL))).astype("int64"),
        }
    )
    daily = work.groupby(["msisdn", "day"], sort=False).agg(
        calls_out=("calls_out", "sum"),
        calls_in=("calls_in", "sum"),
        counterparts=("other_party", "nunique"),
        answered_out=("answered_out", "sum"),
        short_out=("short_out", "sum"),
        talk_s_out=("talk_s_out", "sum"),
        night_out=("night_out", "sum"),
        cells=("cell_id", "nunique"),
        imeis=("imei", "nunique"),
    )
    seconds = time.perf_counter() - started
    return {"seconds": seconds, "rows": len(frame), "daily_rows": len(daily)}


# ---------------------------------------------------------------------------------- helpers


def _calls_source(traffic: Path) -> Path:
    folder = traffic / "calls"
    return folder if folder.is_dir() else traffic / "calls.parquet"


def _rows(path: Path) -> int:
    files = sorted(path.glob("*.parquet")) if path.is_dir() else [path]
    return sum(pq.ParquetFile(p).metadata.num_rows for p in files)


def _pin(threads: int) -> None:
    """Run on ``threads`` cores only (inherited by every process started afterwards)."""
    if hasattr(os, "sched_setaffinity"):
        available = sorted(os.sched_getaffinity(0))
        os.sched_setaffinity(0, available[: max(1, threads)])


def _rounded(value: Any) -> Any:
    if isinstance(value, float):
        return round(value, 2)
    if isinstance(value, dict):
        return {k: _rounded(v) for k, v in value.items()}
    return value


def _table(figures: dict[str, Any]) -> str:
    rows = figures["rows"]
    lines = ["| step | time | CPU time | rows/s | peak memory |", "|---|---|---|---|---|"]
    for label, key in (
        ("synth (generate)", "synth"),
        ("ingest", "ingest"),
        ("feature pipeline (DuckDB)", "features"),
        ("same features, hand-written DuckDB SQL (baseline)", "baseline"),
        ("core counts only, one DuckDB aggregate", "core_aggregate"),
    ):
        step = figures.get(key)
        if step is None:
            continue
        lines.append(
            f"| {label} | {step['seconds']:.1f} s | {step['cpu_s']:.1f} s "
            f"| {rows / step['seconds']:,.0f} | "
            f"{step['peak_gb']:.2f} GB |"
        )
    if "pandas" in figures:
        p = figures["pandas"]
        lines.append(
            f"| pandas aggregate, {p['rows']:,} rows | {p['seconds']:.1f} s "
            f"(~{p['extrapolated_s']:.0f} s for {rows:,}) | {p['cpu_s']:.1f} s "
            f"| {p['rows'] / p['seconds']:,.0f} | "
            f"{p['peak_gb']:.2f} GB |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--records", type=int, default=100_000_000)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--work", type=Path, default=None, help="keep the files here")
    parser.add_argument("--reuse", action="store_true", help="reuse traffic already in --work")
    parser.add_argument("--pandas-rows", type=int, default=10_000_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--duckdb-memory",
        default="6GB",
        help="DuckDB memory limit of the pipeline and the baseline ('' = DuckDB's default)",
    )
    args = parser.parse_args()
    _pin(args.threads)
    work = args.work or Path(tempfile.mkdtemp(prefix="mvnoguard-bench-detect-"))
    traffic, ingested = work / "traffic", work / "ingested" / "calls"
    figures: dict[str, Any] = {
        "records_requested": args.records,
        "threads": args.threads,
        "duckdb_memory": args.duckdb_memory or "default",
    }
    try:
        if args.reuse and (traffic / "truth.json").exists():
            figures["rows"] = _rows(_calls_source(traffic))
        else:
            figures["synth"] = _in_own_process(generate, traffic, args.records, args.seed)
            figures["rows"] = figures["synth"]["rows"]
        shutil.rmtree(ingested, ignore_errors=True)  # time a first ingest, not a no-op
        figures["ingest"] = _in_own_process(
            ingest_calls, _calls_source(traffic), ingested, work / "quarantine"
        )
        figures["features"] = _in_own_process(
            features, ingested, work / "features", args.duckdb_memory
        )
        figures["baseline"] = _in_own_process(
            same_features_baseline, ingested, work / "baseline", args.duckdb_memory
        )
        figures["core_aggregate"] = _in_own_process(
            duckdb_baseline, ingested, work / "core", args.threads, args.duckdb_memory
        )
        for name in ("baseline", "core_aggregate"):
            for unit in ("seconds", "cpu_s"):
                figures[f"pipeline_vs_{name}_{unit}"] = round(
                    figures["features"][unit] / figures[name][unit], 2
                )
        try:
            import pandas  # noqa: F401
        except ImportError:
            figures["pandas"] = None
            print("pandas is not installed: no pandas baseline")
        else:
            pandas_rows = min(args.pandas_rows, figures["ingest"]["accepted"])
            p = _in_own_process(pandas_baseline, ingested, pandas_rows)
            p["extrapolated_s"] = p["seconds"] * figures["rows"] / p["rows"]
            figures["pandas"] = p
        if figures["pandas"] is None:
            del figures["pandas"]
        figures["peak_gb_main"] = _peak_gb()
        print(_table(figures))
        print(
            "\nfeature pipeline / hand-written same features: "
            f"{figures['pipeline_vs_baseline_seconds']}x wall, "
            f"{figures['pipeline_vs_baseline_cpu_s']}x CPU; / core counts only: "
            f"{figures['pipeline_vs_core_aggregate_seconds']}x wall"
        )
        print(json.dumps(_rounded(figures), indent=1))
    finally:
        if args.work is None:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
