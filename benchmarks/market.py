"""The whole market chain at the seed's scale: synth, import, audit, stats.

Prints each step's time and rows/s, the audit's time against one hand-written DuckDB pass over
the same subscriber files (run in this process), peak memory, and whether the audit found the
planted truth. Usage:

    .venv/bin/python benchmarks/market.py --scale 1.0 [--workdir DIR] [--keep]
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import tempfile
import time
from pathlib import Path

import duckdb

from mvnoguard.analytics.audit import run_audit
from mvnoguard.analytics.audit_baseline import hand_written_audit_sql
from mvnoguard.analytics.statistics import market_statistics
from mvnoguard.analytics.store import RegistryStore
from mvnoguard.identity.vault import KeyRing, PiiVault
from mvnoguard.policy import load_policy
from mvnoguard.registry.bulk_import import import_registry
from mvnoguard.storage.database import open_database
from mvnoguard.synth import generate_market


def peak_gb() -> tuple[float, float]:
    """Peak resident memory of this process and of its largest finished child, in GB."""
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2
    child = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024**2
    return own, child


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--seed", type=int, default=2015)
    parser.add_argument("--workdir", type=Path, default=None)
    parser.add_argument("--keep", action="store_true", help="keep the generated files")
    args = parser.parse_args()
    work = args.workdir or Path(tempfile.mkdtemp(prefix="mvnoguard-bench-"))
    market, home = work / "market", work / "home"
    shutil.rmtree(home, ignore_errors=True)
    figures: dict[str, object] = {"scale": args.scale}
    try:
        t = time.perf_counter()
        truth = generate_market(market, scale=args.scale, seed=args.seed)
        synth_s = time.perf_counter() - t
        rows = sum(e.rows for e in truth.enterprises)
        figures |= {
            "rows": rows,
            "synth_s": round(synth_s, 1),
            "synth_rows_per_s": round(rows / synth_s),
        }

        database = open_database(f"sqlite:///{work / 'store.db'}")
        t = time.perf_counter()
        summary = import_registry(
            market, home=home, database=database, vault=PiiVault(KeyRing.generate())
        )
        import_s = time.perf_counter() - t
        database.dispose()
        figures |= {
            "import_s": round(import_s, 1),
            "import_rows_per_s": round(rows / import_s),
            "quarantined": summary.rows_quarantined,
        }

        store = RegistryStore(home)
        policy = load_policy()
        t = time.perf_counter()
        report = run_audit(store, policy).to_json()
        audit_s = time.perf_counter() - t
        con = duckdb.connect()
        t = time.perf_counter()
        con.execute(hand_written_audit_sql(store)).fetchall()
        baseline_s = time.perf_counter() - t
        con.close()
        found = {e["enterprise_code"]: e for e in report["enterprises"]}
        exact = all(
            found[e.enterprise_code][key] == getattr(e, key)
            for e in truth.enterprises
            for key in ("audited", "violating", "violations")
        )
        figures |= {
            "audit_s": round(audit_s, 1),
            "baseline_duckdb_s": round(baseline_s, 1),
            "audit_vs_baseline": round(audit_s / baseline_s, 2),
            "audit_exact": exact,
        }

        t = time.perf_counter()
        stats = market_statistics(store)
        figures["stats_s"] = round(time.perf_counter() - t, 1)
        figures["stats"] = {
            k: getattr(stats, k)
            for k in (
                "enterprises_approved",
                "enterprises_issuing",
                "users_total",
                "enterprises_over_1m",
                "enterprises_over_2m",
                "enterprises_over_4m",
            )
        }
        figures["chain_s"] = round(
            synth_s + import_s + audit_s + float(figures["stats_s"]),
            1,  # type: ignore[arg-type]
        )
        own, child = peak_gb()
        figures |= {"peak_gb_main": round(own, 2), "peak_gb_largest_worker": round(child, 2)}
        print(json.dumps(figures, indent=1))
    finally:
        if not args.keep and args.workdir is None:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
