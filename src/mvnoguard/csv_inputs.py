"""Small CSV files a user hands a command beside its data (labels, truth), read whole.

Every way such a file can be wrong ends in one :class:`~mvnoguard.errors.DataFileError` naming
the file and the option it came from: it cannot be opened, it is not UTF-8 CSV text, or it
lacks a column the command needs. Checking each row is the caller's business.
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from pathlib import Path

from mvnoguard.errors import DataFileError

__all__ = ["read_small_csv"]


def read_small_csv(
    path: Path, *, what: str, field: str, required: Sequence[str], expected: str
) -> list[dict[str, str]]:
    """The rows of ``path`` as dicts (row 1 is the first after the header).

    ``what`` names the file in messages ("labels", "the truth file"), ``field`` is the option
    it came from, ``required`` the columns it must have and ``expected`` the columns to suggest.
    """
    try:
        with path.open(encoding="utf-8", newline="") as handle:
            reader = csv.DictReader(handle)
            missing = [c for c in required if c not in (reader.fieldnames or ())]
            if missing:
                raise DataFileError(
                    f"{what} {path.name} has no {', '.join(missing)} column (expected {expected})",
                    code="missing_column",
                    field=field,
                )
            return [{k: v or "" for k, v in row.items() if k is not None} for row in reader]
    except OSError as exc:
        raise DataFileError(
            f"cannot read {what} {path}: {exc.strerror or exc}", field=field
        ) from exc
    except (UnicodeDecodeError, csv.Error) as exc:
        raise DataFileError(
            f"{what} {path.name} is not UTF-8 CSV text ({type(exc).__name__})", field=field
        ) from exc
