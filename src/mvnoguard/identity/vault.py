"""The PII vault: identity numbers and names encrypted at rest, found by keyed token, masked.

Three things happen to a piece of personal data here:

* ``PiiVault.encrypt`` seals it with AES-GCM under the key ring's current version. The blob is
  self-describing (``format:1 | key_version:2 big-endian | nonce:12 | ciphertext+tag``) and the
  column it belongs to (``context``, e.g. ``"doc_number"`` or ``"name"``) is bound as associated
  data together with the header, so a name ciphertext cannot be swapped into the number column
  and a header cannot be edited to point at another key.
* ``PiiVault.token`` / ``identity_token`` derive a stable look-up key with HMAC-SHA256 under a
  separate token key: ``"v<key version>:<48 hex chars>"`` (at most 55 characters), usable as a
  database unique key for counting cards per identity without decrypting anything.
* ``mask_name`` / ``mask_number`` give the display form (``张**``, ``J*** S****``,
  ``1101**********1234``).

Keys live in a ``KeyRing`` of numbered versions; ``rotate`` adds a version, ``reencrypt`` moves
blobs to it and ``retire`` drops an old one once nothing needs it. The ring is a JSON document
kept in a 0600 file (``HOME/keys/vault.json``) or given whole in ``MVNOGUARD_VAULT_KEY``.

Failures map onto the one error hierarchy:

* a blob whose key version is not in the ring -> ``ConfigurationError`` (code
  ``vault_key_missing``): the environment lacks a key, the fix is to restore it;
* a blob that is truncated, of an unknown format or fails authentication (tampered, corrupted,
  or read with the wrong ``context``) -> ``MvnoguardError`` (code ``vault_tampered``, HTTP 500):
  stored data failed its integrity check, which is neither the caller's input nor a setting;
* text that cannot be encoded as UTF-8 -> ``InvalidInput``;
* a key ring that is unreadable, malformed or too open -> ``ConfigurationError`` with the fix.

This module must never log, and never put plaintext or key material into an exception message,
an exception chain or a ``repr``.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import hashlib
import hmac
import json
import os
import secrets
import stat
import struct
import unicodedata
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from mvnoguard.errors import ConfigurationError, InvalidInput, MvnoguardError

if TYPE_CHECKING:
    from mvnoguard.config import Settings

__all__ = [
    "CODE_KEY_MISSING",
    "CODE_TAMPERED",
    "VAULT_KEY_FILE",
    "KeyRing",
    "PiiVault",
    "mask_name",
    "mask_number",
]

CODE_KEY_MISSING = "vault_key_missing"
CODE_TAMPERED = "vault_tampered"
VAULT_KEY_FILE = "vault.json"

KEY_BYTES = 32
NONCE_BYTES = 12
TAG_BYTES = 16
BLOB_FORMAT = 1
MAX_KEY_VERSION = 0xFFFF
TOKEN_HEX_CHARS = 48  # 192 bits: collision-free at any market size, short enough for an index
_HEADER = struct.Struct(">BH")  # format version, key version
_MIN_BLOB = _HEADER.size + NONCE_BYTES + TAG_BYTES
_UNIT_SEPARATOR = "\x1f"  # ASCII unit separator: cannot occur in a kind


@dataclass(frozen=True, slots=True)
class _KeyVersion:
    enc: bytes = field(repr=False)
    mac: bytes = field(repr=False)
    created_at: str = ""


class KeyRing:
    """Numbered versions of (encryption key, token key), one of them current. Immutable.

    Build one with ``generate``, ``from_json``, ``load_or_create`` or ``from_settings``;
    ``rotate`` and ``retire`` return a new ring.
    """

    __slots__ = ("_current", "_keys")

    def __init__(self, keys: Mapping[int, _KeyVersion], current: int) -> None:
        if current not in keys:
            raise ValueError(f"current key version {current} is not in the ring")
        self._keys = dict(sorted(keys.items()))
        self._current = current

    @property
    def current(self) -> int:
        return self._current

    @property
    def versions(self) -> tuple[int, ...]:
        return tuple(self._keys)

    def __repr__(self) -> str:
        return f"KeyRing(current={self._current}, versions={list(self._keys)})"

    def _key(self, version: int) -> _KeyVersion | None:
        return self._keys.get(version)

    # -- building -------------------------------------------------------------------------

    @classmethod
    def generate(cls) -> KeyRing:
        """A fresh ring with one random version, 1."""
        return cls({1: _new_key_version()}, current=1)

    def rotate(self) -> KeyRing:
        """A ring with a new random version, one above the highest, made current."""
        version = max(self._keys) + 1
        if version > MAX_KEY_VERSION:
            raise ConfigurationError(
                f"the vault key ring is at its last version ({MAX_KEY_VERSION}); "
                "re-encrypt everything under a new key ring"
            )
        return KeyRing({**self._keys, version: _new_key_version()}, current=version)

    def retire(self, version: int) -> KeyRing:
        """A ring without ``version``. Re-encrypt and re-token its data first."""
        if version not in self._keys:
            raise ConfigurationError(
                f"the vault key ring has no version {version} to retire; "
                f"it holds versions {list(self._keys)}"
            )
        if version == self._current:
            raise ConfigurationError(
                f"vault key version {version} is current and cannot be retired; rotate first"
            )
        return KeyRing({v: k for v, k in self._keys.items() if v != version}, self._current)

    # -- serialisation --------------------------------------------------------------------

    def to_json(self) -> str:
        """The ring as JSON, key material included: handle it like a password."""
        doc = {
            "current": self._current,
            "keys": {
                str(version): {
                    "enc": base64.b64encode(key.enc).decode("ascii"),
                    "mac": base64.b64encode(key.mac).decode("ascii"),
                    "created_at": key.created_at,
                }
                for version, key in self._keys.items()
            },
        }
        return json.dumps(doc, indent=2) + "\n"

    @classmethod
    def from_json(cls, text: str, *, source: str = "MVNOGUARD_VAULT_KEY") -> KeyRing:
        """Parse a ring; ``source`` names where it came from in error messages."""

        def bad(problem: str) -> ConfigurationError:
            return ConfigurationError(
                f"the vault key ring in {source} {problem}; restore it from its backup "
                "(a new key ring cannot read data encrypted under the old one)"
            )

        try:
            doc = json.loads(text)
        except json.JSONDecodeError as exc:
            # ``from None``: the decode error carries the whole document, keys included.
            raise bad(f"is not valid JSON (line {exc.lineno}, column {exc.colno})") from None
        if not isinstance(doc, dict):
            raise bad("is not a JSON object")
        current = doc.get("current")
        entries = doc.get("keys")
        if not isinstance(current, int) or isinstance(current, bool):
            raise bad('has no integer "current" version')
        if not isinstance(entries, dict) or not entries:
            raise bad('has no "keys" object')
        keys: dict[int, _KeyVersion] = {}
        for name, entry in entries.items():
            version = _parse_version(name)
            if version is None:
                raise bad(f"has a key version that is not a number from 1 to {MAX_KEY_VERSION}")
            keys[version] = _parse_key_version(entry, version, bad)
        if current not in keys:
            raise bad(f"names current version {current}, which it does not hold")
        return cls(keys, current)

    @classmethod
    def load_or_create(cls, path: Path) -> KeyRing:
        """Read the ring at ``path``; create a fresh one there (mode 0600) if there is none.

        A file open to group or other users is refused rather than silently tightened: someone
        else may already have read it.
        """
        try:
            return cls._load(path)
        except FileNotFoundError:
            pass
        ring = cls.generate()
        try:
            _create_private_file(path, ring.to_json())
        except FileExistsError:
            return cls._load(path)  # another process created it first: use theirs
        return ring

    @classmethod
    def from_settings(cls, settings: Settings) -> KeyRing:
        """``MVNOGUARD_VAULT_KEY`` if set, else ``HOME/keys/vault.json`` (created if absent)."""
        if settings.vault_key is not None:
            return cls.from_json(settings.vault_key.get_secret_value())
        return cls.load_or_create(settings.keys_dir / VAULT_KEY_FILE)

    @classmethod
    def _load(cls, path: Path) -> KeyRing:
        try:
            info = path.stat()
        except FileNotFoundError:
            raise
        except OSError as exc:
            raise _file_error(path, "read", exc) from exc
        if not stat.S_ISREG(info.st_mode):
            raise ConfigurationError(f"the vault key file {path} is not a regular file")
        mode = stat.S_IMODE(info.st_mode)
        if os.name == "posix" and mode & 0o077:
            raise ConfigurationError(
                f"the vault key file {path} is open to other users (mode {mode:03o}); "
                f"run: chmod 600 {path}"
            )
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            raise ConfigurationError(
                f"the vault key file {path} is not UTF-8 text; restore it from its backup"
            ) from None
        except OSError as exc:
            raise _file_error(path, "read", exc) from exc
        return cls.from_json(text, source=str(path))

    def save(self, path: Path) -> None:
        """Write the ring to ``path`` atomically (0600 temp file, then ``os.replace``)."""
        _ensure_private_dir(path)
        tmp = _write_private_temp(path, self.to_json())
        try:
            tmp.replace(path)
        except OSError as exc:
            tmp.unlink(missing_ok=True)
            raise _file_error(path, "write", exc) from exc
        _fsync_dir(path.parent)


class PiiVault:
    """Encrypts, decrypts and tokenises personal data under a ``KeyRing``."""

    __slots__ = ("_ciphers", "_ring")

    def __init__(self, ring: KeyRing) -> None:
        self._ring = ring
        self._ciphers = {v: AESGCM(k.enc) for v, k in ring._keys.items()}

    @property
    def ring(self) -> KeyRing:
        return self._ring

    def __repr__(self) -> str:
        return f"PiiVault({self._ring!r})"

    # -- encryption -----------------------------------------------------------------------

    def encrypt(self, plaintext: str, *, context: str) -> bytes:
        """Seal ``plaintext`` under the current key, bound to ``context`` (its column)."""
        header = _HEADER.pack(BLOB_FORMAT, self._ring.current)
        nonce = secrets.token_bytes(NONCE_BYTES)
        sealed = self._ciphers[self._ring.current].encrypt(
            nonce, _utf8(plaintext, context), _associated_data(header, context)
        )
        return header + nonce + sealed

    def encrypt_many(self, plaintexts: Sequence[str | None], *, context: str) -> list[bytes | None]:
        """``encrypt`` for a column of values (None stays None), with the per-call set-up once.

        The bulk registry import seals millions of values; this keeps the cost near the
        cipher's own. Each value still gets its own random nonce.
        """
        header = _HEADER.pack(BLOB_FORMAT, self._ring.current)
        aad = _associated_data(header, context)
        seal = self._ciphers[self._ring.current].encrypt
        nonces = secrets.token_bytes(NONCE_BYTES * len(plaintexts))
        out: list[bytes | None] = []
        for i, text in enumerate(plaintexts):
            if text is None:
                out.append(None)
                continue
            nonce = nonces[i * NONCE_BYTES : (i + 1) * NONCE_BYTES]
            out.append(header + nonce + seal(nonce, _utf8(text, context), aad))
        return out

    def decrypt(self, blob: bytes, *, context: str) -> str:
        """Open a blob sealed under any version still in the ring, for the same ``context``."""
        blob = bytes(blob)  # drivers may hand back memoryview or bytearray
        version = self.key_version_of(blob)
        cipher = self._ciphers.get(version)
        if cipher is None:
            raise ConfigurationError(
                f"the vault key ring has no key version {version} (retired, or data from "
                "another key ring); restore the key ring that holds it",
                code=CODE_KEY_MISSING,
                field=context,
            )
        header = blob[: _HEADER.size]
        nonce = blob[_HEADER.size : _HEADER.size + NONCE_BYTES]
        try:
            data = cipher.decrypt(
                nonce, blob[_HEADER.size + NONCE_BYTES :], _associated_data(header, context)
            )
            return data.decode("utf-8")
        except (InvalidTag, UnicodeDecodeError):
            raise _tampered(context, "failed authentication") from None

    def key_version_of(self, blob: bytes) -> int:
        """The key version a blob was sealed under (checks the layout, not the tag)."""
        if len(blob) < _MIN_BLOB:
            raise _tampered(None, "is too short")
        fmt, version = _HEADER.unpack_from(blob)
        if fmt != BLOB_FORMAT:
            raise _tampered(None, f"has unknown format {fmt}")
        if version == 0:
            raise _tampered(None, "names key version 0")
        return int(version)

    def needs_rotation(self, blob: bytes) -> bool:
        """True when the blob is sealed under a version other than the current one."""
        return self.key_version_of(blob) != self._ring.current

    def reencrypt(self, blob: bytes, *, context: str) -> bytes:
        """Decrypt with the blob's own key version, encrypt again under the current one."""
        return self.encrypt(self.decrypt(blob, context=context), context=context)

    # -- tokens ---------------------------------------------------------------------------

    def token(self, kind: str, value: str, *, version: int | None = None) -> str:
        """``"v<version>:<hex>"``: HMAC-SHA256 of ``kind + "\\x1f" + value``, truncated.

        Deterministic for one key version; a rotation changes every token, so look-ups during
        a rotation use ``tokens`` (one per version in the ring).
        """
        if not kind or _UNIT_SEPARATOR in kind:
            raise ValueError("token kind must be non-empty and free of the unit separator")
        version = self._ring.current if version is None else version
        key = self._ring._key(version)
        if key is None:
            raise ConfigurationError(
                f"the vault key ring has no key version {version}; "
                "restore the key ring that holds it",
                code=CODE_KEY_MISSING,
            )
        message = _utf8(kind, "kind") + _UNIT_SEPARATOR.encode() + _utf8(value, kind)
        digest = hmac.new(key.mac, message, hashlib.sha256).hexdigest()
        return f"v{version}:{digest[:TOKEN_HEX_CHARS]}"

    def tokens(self, kind: str, value: str) -> tuple[str, ...]:
        """The token under every version in the ring, current first."""
        others = [v for v in reversed(self._ring.versions) if v != self._ring.current]
        return tuple(self.token(kind, value, version=v) for v in [self._ring.current, *others])

    def identity_token(self, doc_type: str, number: str) -> str:
        """The token of one identity document, over its normalised (doc_type, number)."""
        return self.token("identity", _identity_key(doc_type, number))

    def identity_token_many(
        self, doc_types: Sequence[str | None], numbers: Sequence[str | None]
    ) -> list[str | None]:
        """``identity_token`` for columns of documents (a missing type or number gives None)."""
        version = self._ring.current
        key = self._ring._key(version)
        assert key is not None  # the current version is always in the ring
        inner = hmac.new(key.mac, b"identity" + _UNIT_SEPARATOR.encode(), hashlib.sha256)
        prefix = f"v{version}:"
        out: list[str | None] = []
        for doc_type, number in zip(doc_types, numbers, strict=True):
            if not doc_type or not number:
                out.append(None)
                continue
            h = inner.copy()
            h.update(_utf8(_identity_key(doc_type, number), "identity"))
            out.append(prefix + h.hexdigest()[:TOKEN_HEX_CHARS])
        return out

    def token_many(self, kind: str, values: Sequence[str | None]) -> list[str | None]:
        """``token(kind, value)`` for a column of values that are already exact (None stays None).

        The HMAC is spelled out over two pre-keyed SHA-256 states (RFC 2104), which gives the
        same digest as ``hmac.new`` at a fraction of its per-call cost.
        """
        version = self._ring.current
        key = self._ring._key(version)
        assert key is not None  # the current version is always in the ring
        mac_key = key.mac if len(key.mac) <= 64 else hashlib.sha256(key.mac).digest()
        mac_key = mac_key.ljust(64, b"\0")
        inner = hashlib.sha256(bytes(b ^ 0x36 for b in mac_key))
        inner.update(_utf8(kind, "kind") + _UNIT_SEPARATOR.encode())
        outer = hashlib.sha256(bytes(b ^ 0x5C for b in mac_key))
        prefix = f"v{version}:"
        out: list[str | None] = []
        append = out.append
        for value in values:
            if value is None:
                append(None)
                continue
            i = inner.copy()
            i.update(value.encode("utf-8"))
            o = outer.copy()
            o.update(i.digest())
            append(prefix + o.hexdigest()[:TOKEN_HEX_CHARS])
        return out

    def identity_tokens(self, doc_type: str, number: str) -> tuple[str, ...]:
        """``identity_token`` under every version in the ring, current first."""
        return self.tokens("identity", _identity_key(doc_type, number))


# -- masking ------------------------------------------------------------------------------


def mask_name(name: str) -> str:
    """A name for display: ``张三丰`` -> ``张**``, ``John Smith`` -> ``J*** S****``.

    A name with any CJK ideograph keeps its first character (the family name) and masks the
    rest, whitespace dropped; otherwise each word keeps its first letter. Nothing else of the
    name survives.
    """
    words = name.split()
    if not words:
        return ""
    if any(_is_cjk(ch) for ch in name):
        joined = "".join(words)
        return joined[0] + "*" * (len(joined) - 1)
    return " ".join(word[0] + "*" * (len(word) - 1) for word in words)


def mask_number(number: str) -> str:
    """A document number for display, length kept: ``110101199003071234`` -> ``1101**********1234``.

    Longer than 8 characters: first 4 and last 4 kept; 3 to 8: first and last kept; 1 or 2:
    all masked (keeping "first and last" would show the whole number).
    """
    n = len(number)
    if n <= 2:
        return "*" * n
    if n <= 8:
        return number[0] + "*" * (n - 2) + number[-1]
    return number[:4] + "*" * (n - 8) + number[-4:]


# -- helpers ------------------------------------------------------------------------------


def _is_cjk(ch: str) -> bool:
    code = ord(ch)
    return (
        0x3400 <= code <= 0x4DBF  # extension A
        or 0x4E00 <= code <= 0x9FFF  # unified ideographs
        or 0xF900 <= code <= 0xFAFF  # compatibility ideographs
        or 0x20000 <= code <= 0x3134F  # extensions B to G
    )


def _nfkc(text: str) -> str:
    # NFKC leaves ASCII unchanged; skipping it there keeps bulk tokenising cheap.
    return text if text.isascii() else unicodedata.normalize("NFKC", text)


def _identity_key(doc_type: str, number: str) -> str:
    # NFKC folds full-width digits and letters; upper-casing makes a RIC's "x" and "X" one.
    doc = _nfkc(doc_type).strip().upper()
    num = _nfkc(number).strip().upper()
    if not doc or ":" in doc:
        raise ValueError("doc_type must be non-empty and free of ':'")
    return f"{doc}:{num}"


def _utf8(text: str, field_name: str) -> bytes:
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:
        # ``from None``: the encode error quotes the text.
        raise InvalidInput(
            "text contains a lone surrogate and cannot be stored", field=field_name
        ) from None


def _associated_data(header: bytes, context: str) -> bytes:
    if not context:
        raise ValueError("a vault context (the column a value belongs to) is required")
    return header + context.encode("utf-8")


def _tampered(context: str | None, problem: str) -> MvnoguardError:
    return MvnoguardError(
        f"a vault ciphertext {problem} (tampered, corrupted, or read as the wrong column)",
        code=CODE_TAMPERED,
        field=context,
    )


def _new_key_version() -> _KeyVersion:
    return _KeyVersion(
        enc=secrets.token_bytes(KEY_BYTES),
        mac=secrets.token_bytes(KEY_BYTES),
        created_at=datetime.now(UTC).isoformat(timespec="seconds"),
    )


def _parse_version(name: Any) -> int | None:
    if not isinstance(name, str) or not name.isascii() or not name.isdigit():
        return None
    version = int(name)
    return version if 1 <= version <= MAX_KEY_VERSION else None


def _parse_key_version(
    entry: Any, version: int, bad: Callable[[str], ConfigurationError]
) -> _KeyVersion:
    if not isinstance(entry, dict):
        raise bad(f"has key version {version} that is not an object")
    material: dict[str, bytes] = {}
    for part in ("enc", "mac"):
        encoded = entry.get(part)
        if not isinstance(encoded, str):
            raise bad(f'has no "{part}" key for version {version}')
        try:
            raw = base64.b64decode(encoded, validate=True)
        except (binascii.Error, ValueError):
            raise bad(f'has a "{part}" key for version {version} that is not base64') from None
        if len(raw) != KEY_BYTES:
            raise bad(f'has a "{part}" key for version {version} that is not {KEY_BYTES} bytes')
        material[part] = raw
    if hmac.compare_digest(material["enc"], material["mac"]):
        raise bad(f"uses the same key for encryption and tokens in version {version}")
    created_at = entry.get("created_at", "")
    if not isinstance(created_at, str):
        raise bad(f'has a "created_at" for version {version} that is not a string')
    return _KeyVersion(material["enc"], material["mac"], created_at)


def _file_error(path: Path, action: str, exc: OSError) -> ConfigurationError:
    return ConfigurationError(
        f"cannot {action} the vault key file {path}: {exc.strerror}; make its folder "
        "writable by this user or set MVNOGUARD_VAULT_KEY"
    )


def _ensure_private_dir(path: Path) -> None:
    """Create the folder of the key file ``path`` with mode 0700 if it is missing."""
    directory = path.parent
    if directory.exists():
        return
    try:
        directory.mkdir(parents=True, mode=0o700, exist_ok=True)
        directory.chmod(0o700)  # mkdir's mode is filtered by the umask
    except OSError as exc:
        raise _file_error(path, "create the folder of", exc) from exc


def _write_private_temp(path: Path, text: str) -> Path:
    """Write ``text`` to a new 0600 file next to ``path``, flushed to disk."""
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(6)}.tmp")
    try:
        _write_new_file(tmp, text)
    except OSError as exc:  # a random name never exists: any error here is the folder's
        raise _file_error(path, "write", exc) from exc
    return tmp


def _write_new_file(target: Path, text: str) -> None:
    """Create ``target`` exclusively with mode 0600 and write ``text``; OSError as raised."""
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
    except BaseException:
        target.unlink(missing_ok=True)
        raise


def _create_private_file(path: Path, text: str) -> None:
    """Create ``path`` holding ``text``, mode 0600; ``FileExistsError`` if it is there already.

    The content goes to a temp file first and is hard-linked into place, so a reader never sees
    a half-written ring and a crash never leaves one behind.
    """
    _ensure_private_dir(path)
    tmp = _write_private_temp(path, text)
    try:
        os.link(tmp, path)
    except FileExistsError:
        raise
    except OSError:
        # A file system without hard links: create in place, still exclusively.
        try:
            _write_new_file(path, text)
        except FileExistsError:
            raise
        except OSError as exc:
            raise _file_error(path, "create", exc) from exc
    finally:
        tmp.unlink(missing_ok=True)
    _fsync_dir(path.parent)


def _fsync_dir(directory: Path) -> None:
    if os.name != "posix":
        return
    fd = os.open(directory, os.O_RDONLY)
    try:
        with contextlib.suppress(OSError):
            os.fsync(fd)
    finally:
        os.close(fd)
