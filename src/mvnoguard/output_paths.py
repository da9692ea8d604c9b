"""Files and folders a user names for output (``--out``): checked before the work starts.

A command that writes where it cannot (a folder where a file goes, a file where a folder goes,
a missing or read-only place, one of its own input files) fails with one
:class:`~mvnoguard.errors.DataFileError` of code ``unwritable_file`` naming the path and the
option, before hours of work are spent, and never with a half-written or overwritten input.
"""

from __future__ import annotations

import csv
import fnmatch
import os
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TextIO

from mvnoguard.errors import DataFileError, InvalidInput

CODE_UNWRITABLE = "unwritable_file"
CODE_OUTPUT_IS_INPUT = "output_is_input"


def _reason(exc: OSError) -> str:
    if isinstance(exc, FileExistsError | NotADirectoryError):
        return "a part of the path is a file, not a folder"
    return exc.strerror or type(exc).__name__


def unwritable(path: Path, exc: OSError, *, field: str = "out") -> DataFileError:
    """The error for an ``OSError`` met while creating or writing ``path``."""
    return DataFileError(f"cannot write {path}: {_reason(exc)}", code=CODE_UNWRITABLE, field=field)


def output_folder(path: Path, *, field: str = "out") -> Path:
    """Create ``path`` (and its parents) as a folder to write into; returns it."""
    if path.exists() and not path.is_dir():
        raise DataFileError(
            f"cannot write into {path}: it is a file, not a folder",
            code=CODE_UNWRITABLE,
            field=field,
        )
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise unwritable(path, exc, field=field) from None
    return path


def _same_file(a: Path, b: Path) -> bool:
    try:
        return a.exists() and b.exists() and a.samefile(b)
    except OSError:
        return False


def _read_by(path: Path, source: Path) -> bool:
    """Whether an input given as ``source`` (a file, a folder of files or a glob) takes in
    ``path``: the same file, a file under the folder, or a name the glob matches."""
    if _same_file(path, source):
        return True
    target = path.resolve()
    if source.is_dir():
        return target.is_relative_to(source.resolve())
    pattern = str(source)
    return any(ch in pattern for ch in "*?[") and fnmatch.fnmatchcase(
        str(target), str(source.resolve())
    )


def output_file(path: Path, *, field: str = "out", inputs: Iterable[Path] = ()) -> Path:
    """Check that ``path`` can be written as a file (its folder is created); returns it.

    ``inputs`` are the files, folders or globs the same command reads: writing over one of
    them, or into a folder it reads, would lose records or feed the output back in next time.
    """
    if path.is_dir():
        raise DataFileError(
            f"cannot write {path}: it is a folder; give a file name",
            code=CODE_UNWRITABLE,
            field=field,
        )
    for source in inputs:
        if _read_by(path, source):
            raise InvalidInput(
                f"{path} is also an input of this command (given as {source}); write the output "
                "to another file",
                code=CODE_OUTPUT_IS_INPUT,
                field=field,
            )
    folder = path.parent
    if folder.exists() and not folder.is_dir():
        raise DataFileError(
            f"cannot write {path}: {folder} is a file, not a folder",
            code=CODE_UNWRITABLE,
            field=field,
        )
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DataFileError(
            f"cannot write {path}: cannot create its folder {folder} ({_reason(exc)})",
            code=CODE_UNWRITABLE,
            field=field,
        ) from None
    return path


@contextmanager
def atomic_text_file(path: Path, *, field: str = "out") -> Iterator[TextIO]:
    """Write ``path`` through a temporary file beside it, renamed over it on success.

    On any error the temporary file is removed and ``path`` is left as it was. ``OSError`` from
    the caller's own writes propagates unchanged (the caller knows which file failed).
    """
    output_file(path, field=field)
    try:
        fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    except OSError as exc:
        raise unwritable(path, exc, field=field) from None
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
            yield handle
        try:
            tmp.replace(path)
        except OSError as exc:
            raise unwritable(path, exc, field=field) from None
    finally:
        tmp.unlink(missing_ok=True)


def write_csv(
    path: Path,
    header: Sequence[str],
    rows: Iterable[Sequence[object]],
    *,
    field: str = "out",
    inputs: Iterable[Path] = (),
) -> Path:
    """Write a UTF-8 CSV file whole, through :func:`atomic_text_file`; returns ``path``.

    Any failure to write is an ``unwritable_file`` error naming ``path``, and leaves no
    half-written file behind; ``inputs`` are checked as in :func:`output_file`.
    """
    output_file(path, field=field, inputs=inputs)
    try:
        with atomic_text_file(path, field=field) as handle:
            writer = csv.writer(handle)
            writer.writerow(header)
            writer.writerows(rows)
    except OSError as exc:
        raise unwritable(path, exc, field=field) from None
    return path
