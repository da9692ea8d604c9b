"""The one file format for trained models: a zip of JSON metadata, numpy arrays and text blobs.

A model file (``*.mvgmodel`` by convention) is a single zip archive holding

    metadata.json        kind, format_version, mvnoguard_version, created_at,
                         training_data_sha256, features, metrics, threshold, params, ...
    arrays/<name>.npy    numeric arrays written with ``numpy.save(allow_pickle=False)``
    texts/<name>.txt     UTF-8 text (a LightGBM text dump, a vocabulary as JSON, ...)

It must never unpickle anything: arrays are read with ``allow_pickle=False``, so a file carrying
an object array is refused instead of running code. Every problem reading a file (missing, not a
zip, corrupt member, wrong kind, unknown format version) is a
:class:`mvnoguard.errors.DataFileError` with one of the ``model_*`` codes below.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import tempfile
import zipfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from mvnoguard import __version__
from mvnoguard.errors import DataFileError
from mvnoguard.output_paths import output_file, unwritable

FORMAT_VERSION = 1
METADATA_MEMBER = "metadata.json"

# Stable error codes (never rename once released).
CODE_UNREADABLE = "model_file_unreadable"
CODE_CORRUPT = "model_file_corrupt"
CODE_WRONG_KIND = "model_kind_mismatch"
CODE_FORMAT = "model_format_unsupported"

_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")


@dataclass(frozen=True)
class LoadedModel:
    """What :func:`load_model` returns: the metadata and every array and text of the file."""

    metadata: dict[str, Any]
    arrays: dict[str, np.ndarray[Any, Any]] = field(default_factory=dict)
    texts: dict[str, str] = field(default_factory=dict)


def sha256_of_files(paths: Iterable[str | os.PathLike[str]]) -> str:
    """One SHA-256 over the bytes of ``paths`` in the order given (file names are not hashed)."""
    digest = hashlib.sha256()
    for path in paths:
        try:
            with Path(path).open("rb") as handle:
                for block in iter(lambda: handle.read(1 << 20), b""):
                    digest.update(block)
        except OSError as exc:
            raise DataFileError(
                f"cannot read {Path(path).name}: {exc.strerror or exc}", code=CODE_UNREADABLE
            ) from exc
    return digest.hexdigest()


def save_model(
    path: str | os.PathLike[str],
    *,
    kind: str,
    metadata: Mapping[str, Any],
    arrays: Mapping[str, np.ndarray[Any, Any]],
    texts: Mapping[str, str] | None = None,
) -> None:
    """Write a model file atomically (a temporary file renamed over ``path``).

    ``metadata`` must be JSON-serialisable; ``kind``, ``format_version``, ``mvnoguard_version``
    and ``created_at`` are filled in here (a ``created_at`` already in ``metadata`` is kept).
    Arrays must have a numeric or boolean dtype: object arrays are refused.
    """
    texts = texts or {}
    for name in [*arrays, *texts]:
        if not _NAME.match(name):
            raise ValueError(f"invalid member name {name!r}")
    for name, array in arrays.items():
        if array.dtype.hasobject or array.dtype.kind not in "biufcSUMm":
            raise ValueError(f"array {name!r} has dtype {array.dtype}, which needs pickle")
    meta: dict[str, Any] = dict(metadata)
    meta["kind"] = kind
    meta["format_version"] = FORMAT_VERSION
    meta["mvnoguard_version"] = __version__
    meta.setdefault("created_at", datetime.now(UTC).isoformat(timespec="seconds"))
    meta_json = json.dumps(meta, ensure_ascii=False, indent=2, sort_keys=True, allow_nan=False)

    target = output_file(Path(path))
    try:
        fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
    except OSError as exc:
        raise unwritable(target, exc) from exc
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            archive.writestr(METADATA_MEMBER, meta_json)
            for name, array in arrays.items():
                buffer = io.BytesIO()
                np.save(buffer, np.asarray(array), allow_pickle=False)
                archive.writestr(f"arrays/{name}.npy", buffer.getvalue())
            for name, text in texts.items():
                archive.writestr(f"texts/{name}.txt", text.encode("utf-8"))
        tmp.replace(target)
    except OSError as exc:
        raise unwritable(target, exc) from exc
    finally:
        tmp.unlink(missing_ok=True)


def load_model(path: str | os.PathLike[str], *, kind: str) -> LoadedModel:
    """Read a model file written by :func:`save_model`, refusing anything that needs pickle."""
    source = Path(path)
    name = source.name
    try:
        archive = zipfile.ZipFile(source, "r")
    except FileNotFoundError as exc:
        raise DataFileError(f"model file {name} does not exist", code=CODE_UNREADABLE) from exc
    except (OSError, zipfile.BadZipFile) as exc:
        raise DataFileError(
            f"{name} is not a mvnoguard model file ({exc})", code=CODE_UNREADABLE
        ) from exc
    with archive:
        try:
            metadata = json.loads(archive.read(METADATA_MEMBER).decode("utf-8"))
        except KeyError as exc:
            raise DataFileError(f"{name} has no {METADATA_MEMBER}", code=CODE_CORRUPT) from exc
        except (zipfile.BadZipFile, OSError, UnicodeDecodeError, ValueError) as exc:
            raise DataFileError(
                f"{name}: unreadable {METADATA_MEMBER} ({exc})", code=CODE_CORRUPT
            ) from exc
        if not isinstance(metadata, dict):
            raise DataFileError(f"{name}: metadata is not a JSON object", code=CODE_CORRUPT)
        if metadata.get("kind") != kind:
            raise DataFileError(
                f"{name} holds a {metadata.get('kind')!r} model, not a {kind!r} model",
                code=CODE_WRONG_KIND,
                details={"expected": kind, "found": metadata.get("kind")},
            )
        if metadata.get("format_version") != FORMAT_VERSION:
            raise DataFileError(
                f"{name} has model format version {metadata.get('format_version')!r}; "
                f"this mvnoguard reads version {FORMAT_VERSION}",
                code=CODE_FORMAT,
            )
        arrays: dict[str, np.ndarray[Any, Any]] = {}
        texts: dict[str, str] = {}
        for member in archive.namelist():
            try:
                if member.startswith("arrays/") and member.endswith(".npy"):
                    key = member[len("arrays/") : -len(".npy")]
                    with archive.open(member) as handle:
                        buffer = io.BytesIO(handle.read())
                    arrays[key] = np.load(buffer, allow_pickle=False)
                elif member.startswith("texts/") and member.endswith(".txt"):
                    key = member[len("texts/") : -len(".txt")]
                    texts[key] = archive.read(member).decode("utf-8")
            except (zipfile.BadZipFile, OSError, UnicodeDecodeError, ValueError, EOFError) as exc:
                # numpy raises ValueError for an object array when allow_pickle=False.
                raise DataFileError(
                    f"{name}: member {member} is corrupt or needs pickle ({exc})",
                    code=CODE_CORRUPT,
                ) from exc
    return LoadedModel(metadata=metadata, arrays=arrays, texts=texts)


__all__ = [
    "CODE_CORRUPT",
    "CODE_FORMAT",
    "CODE_UNREADABLE",
    "CODE_WRONG_KIND",
    "FORMAT_VERSION",
    "LoadedModel",
    "load_model",
    "save_model",
    "sha256_of_files",
]
