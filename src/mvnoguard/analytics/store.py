"""The imported registry: validated, encrypted subscriber snapshots as Parquet under the home.

``mvnoguard registry import`` writes one Parquet file per enterprise snapshot under
``HOME/registry/subscribers/``; the audit and the statistics read them. Identity numbers and
names exist here only as AES-GCM ciphertexts (``*_ct``), keyed tokens and masked forms. What
the rules need is kept as facts computed at import: the document check code, the holder's age
on the activation date. Reference tables (enterprises, blocks, outlets) are written beside
them as Parquet too, so the pipelines read one folder on any engine.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from mvnoguard.analytics.engines import redact
from mvnoguard.errors import ConfigurationError, DataFileError

SUBSCRIBERS = pa.schema(
    [
        ("msisdn", pa.string()),
        ("enterprise_code", pa.string()),
        ("status", pa.string()),
        ("activated_at", pa.timestamp("us", tz="UTC")),
        ("activated_on", pa.date32()),  # Beijing date of activation: the rules' date
        ("cancelled_at", pa.timestamp("us", tz="UTC")),
        ("doc_type", pa.string()),  # null: no document recorded (unregistered)
        ("doc_check", pa.string()),  # validation code, "ok" when valid; null when no document
        ("doc_token", pa.string()),  # keyed token of (doc_type, number); null when no document
        ("doc_number_ct", pa.binary()),
        ("doc_masked", pa.string()),
        ("name_ct", pa.binary()),
        ("name_masked", pa.string()),
        ("nationality", pa.string()),
        ("holder_age", pa.int16()),  # full years on activated_on; null when unknown
        ("verification_method", pa.string()),
        ("face_score", pa.float64()),
        ("outlet_code", pa.string()),
        ("guardian_doc_type", pa.string()),
        ("guardian_token", pa.string()),
        ("guardian_number_ct", pa.binary()),
        ("agent_doc_type", pa.string()),
        ("agent_token", pa.string()),
        ("agent_number_ct", pa.binary()),
        ("source_file", pa.string()),
        ("source_row", pa.int64()),
    ]
)

ENTERPRISES = pa.schema(
    [
        ("enterprise_code", pa.string()),
        ("name", pa.string()),
        ("host_network", pa.string()),
        ("approved_on", pa.date32()),
        ("license_no", pa.string()),
    ]
)

NUMBER_BLOCKS = pa.schema(
    [("enterprise_code", pa.string()), ("first_number", pa.string()), ("last_number", pa.string())]
)

OUTLETS = pa.schema(
    [
        ("outlet_code", pa.string()),
        ("enterprise_code", pa.string()),
        ("kind", pa.string()),
        ("region_code", pa.string()),
        ("authorized", pa.bool_()),
    ]
)


@contextlib.contextmanager
def reading_snapshots(what: str) -> Iterator[None]:
    """Errors reading the imported snapshots (a file damaged in the home) as one clear
    :class:`DataFileError` naming the job, never a driver traceback."""
    try:
        yield
    except (duckdb.Error, pa.ArrowException, OSError) as exc:
        raise DataFileError(
            f"{what}: an imported snapshot under the home's registry/subscribers cannot be read "
            f"({type(exc).__name__}: {redact(str(exc))}); import that enterprise's snapshot "
            "again to replace it"
        ) from None


class RegistryStore:
    """Where the imported registry lives under a home folder."""

    def __init__(self, home: Path) -> None:
        self.root = home / "registry"

    @property
    def subscribers_dir(self) -> Path:
        return self.root / "subscribers"

    def reference(self, table: str) -> Path:
        """``enterprises``, ``number_blocks`` or ``outlets``."""
        return self.root / f"{table}.parquet"

    def subscriber_files(self) -> list[Path]:
        return sorted(self.subscribers_dir.glob("*.parquet"))

    @property
    def latest_audit(self) -> Path:
        return self.root / "audit-latest.json"

    def save_audit(self, report: dict[str, Any]) -> None:
        """Keep the latest audit report, so rates and notices can cite it without a re-run."""
        self.root.mkdir(parents=True, exist_ok=True)
        tmp = self.latest_audit.with_suffix(".tmp")
        tmp.write_text(json.dumps(report, ensure_ascii=False), encoding="utf-8")
        tmp.replace(self.latest_audit)

    def registry_violation_rates(self) -> dict[str, float | None]:
        """Per enterprise, the violation rate of the latest saved audit ({} before any)."""
        if not self.latest_audit.exists():
            return {}
        try:
            report = json.loads(self.latest_audit.read_text(encoding="utf-8"))
            return {
                str(e["enterprise_code"]): _rate(e["violation_rate"]) for e in report["enterprises"]
            }
        except (ValueError, UnicodeDecodeError, KeyError, TypeError):
            raise ConfigurationError(
                f"{self.latest_audit} is damaged: run `mvnoguard audit` again to rewrite it",
                code="damaged_state",
            ) from None


def _rate(value: object) -> float | None:
    """A saved violation rate: a number in [0, 1], or None (nothing audited)."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
        raise ValueError("not a rate")
    return float(value)
