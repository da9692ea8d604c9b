"""The model file format: round trip, and refusal of pickles, wrong kinds and corrupt files."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import numpy as np
import pytest

from mvnoguard.detection.model_files import (
    CODE_CORRUPT,
    CODE_FORMAT,
    CODE_UNREADABLE,
    CODE_WRONG_KIND,
    load_model,
    save_model,
    sha256_of_files,
)
from mvnoguard.errors import DataFileError


def _save(path: Path, kind: str = "sms") -> None:
    save_model(
        path,
        kind=kind,
        metadata={"threshold": 0.5, "features": ["a", "b"], "metrics": {"f1": 0.9}},
        arrays={"coef": np.array([[1.5, -2.0]]), "idx": np.arange(3, dtype=np.int32)},
        texts={"vocabulary": json.dumps({"短信": 0, "x": 1}, ensure_ascii=False)},
    )


def test_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "m.mvgmodel"
    _save(path)
    loaded = load_model(path, kind="sms")
    assert loaded.metadata["kind"] == "sms"
    assert loaded.metadata["threshold"] == 0.5
    assert loaded.metadata["format_version"] == 1
    assert "created_at" in loaded.metadata and "mvnoguard_version" in loaded.metadata
    np.testing.assert_array_equal(loaded.arrays["coef"], np.array([[1.5, -2.0]]))
    assert loaded.arrays["idx"].dtype == np.int32
    assert json.loads(loaded.texts["vocabulary"]) == {"短信": 0, "x": 1}
    assert list(tmp_path.iterdir()) == [path]  # no temporary file left behind


def test_wrong_kind_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "m.mvgmodel"
    _save(path, kind="sichuan")
    with pytest.raises(DataFileError) as info:
        load_model(path, kind="sms")
    assert info.value.code == CODE_WRONG_KIND


def test_pickled_object_array_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "m.mvgmodel"
    _save(path)
    buffer = io.BytesIO()
    np.save(buffer, np.array([{"evil": 1}], dtype=object), allow_pickle=True)
    with zipfile.ZipFile(path, "a") as archive:
        archive.writestr("arrays/payload.npy", buffer.getvalue())
    with pytest.raises(DataFileError) as info:
        load_model(path, kind="sms")
    assert info.value.code == CODE_CORRUPT


def test_object_array_cannot_be_saved(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="pickle"):
        save_model(
            tmp_path / "m.mvgmodel",
            kind="sms",
            metadata={},
            arrays={"bad": np.array([object()], dtype=object)},
        )


def test_wrong_format_version_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "m.mvgmodel"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("metadata.json", json.dumps({"kind": "sms", "format_version": 99}))
    with pytest.raises(DataFileError) as info:
        load_model(path, kind="sms")
    assert info.value.code == CODE_FORMAT


@pytest.mark.parametrize("content", [b"", b"not a zip at all", b"PK\x03\x04garbage"])
def test_corrupt_or_missing_file_is_refused(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "m.mvgmodel"
    path.write_bytes(content)
    with pytest.raises(DataFileError) as info:
        load_model(path, kind="sms")
    assert info.value.code == CODE_UNREADABLE
    with pytest.raises(DataFileError) as missing:
        load_model(tmp_path / "absent.mvgmodel", kind="sms")
    assert missing.value.code == CODE_UNREADABLE


def test_zip_without_metadata_is_corrupt(tmp_path: Path) -> None:
    path = tmp_path / "m.mvgmodel"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("other.txt", "x")
    with pytest.raises(DataFileError) as info:
        load_model(path, kind="sms")
    assert info.value.code == CODE_CORRUPT


def test_sha256_of_files_depends_on_content_and_order(tmp_path: Path) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    a.write_bytes(b"one")
    b.write_bytes(b"two")
    assert sha256_of_files([a, b]) == sha256_of_files([a, b])
    assert sha256_of_files([a, b]) != sha256_of_files([b, a])
    with pytest.raises(DataFileError):
        sha256_of_files([tmp_path / "absent"])
