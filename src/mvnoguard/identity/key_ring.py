"""The vault's key ring: numbered versions of (encryption key, token key), one of them current.

A version holds two independent random 256-bit keys: ``enc`` for AES-GCM sealing and ``mac``
for HMAC tokens (see :mod:`mvnoguard.identity.vault`). ``rotate`` adds a version and makes it
current, ``retire`` drops an old one once nothing needs it; a ring is immutable, so both
return a new ring.

The ring is a JSON document kept in a 0600 file (``HOME/keys/vault.json``, created on first
use in a 0700 folder, written atomically) or given whole in ``MVNOGUARD_VAULT_KEY``. A key file
open to other users is refused, not silently tightened. Every problem with a ring (unreadable,
malformed, too open, missing a version) is a :class:`ConfigurationError` that says what to do.

This module must never log, and never put key material into an exception message, an
exception chain or a ``repr``.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import hmac
import json
import os
import secrets
import stat
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mvnoguard.errors import ConfigurationError

try:
    import fcntl
except ImportError:  # not a POSIX system
    fcntl = None  # type: ignore[assignment]

if TYPE_CHECKING:
    from mvnoguard.config import Settings

__all__ = [
    "KEY_BYTES",
    "MAX_KEY_VERSION",
    "VAULT_KEY_FILE",
    "VAULT_LOCK_FILE",
    "KeyLease",
    "KeyRing",
    "KeyVersion",
]

VAULT_KEY_FILE = "vault.json"
VAULT_CHECK_FILE = "vault.check"  # fingerprints of the ring's versions (see from_settings)
VAULT_LOCK_FILE = "vault.lock"  # held by every process using the ring (see KeyLease)
_CHECK_TEXT = b"mvnoguard vault key check"
KEY_BYTES = 32
MAX_KEY_VERSION = 0xFFFF


@dataclass(frozen=True, slots=True)
class KeyVersion:
    """One version's keys: ``enc`` seals, ``mac`` makes tokens. Never shown in a repr."""

    enc: bytes = field(repr=False)
    mac: bytes = field(repr=False)
    created_at: str = ""


class KeyRing:
    """Numbered versions of (encryption key, token key), one of them current. Immutable.

    Build one with ``generate``, ``from_json``, ``load_or_create`` or ``from_settings``;
    ``rotate`` and ``retire`` return a new ring.
    """

    __slots__ = ("_current", "_keys")

    def __init__(self, keys: Mapping[int, KeyVersion], current: int) -> None:
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

    def key(self, version: int) -> KeyVersion | None:
        """The keys of ``version``, None when the ring does not hold it."""
        return self._keys.get(version)

    def keys(self) -> Mapping[int, KeyVersion]:
        """Every version's keys, by version."""
        return dict(self._keys)

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
        keys: dict[int, KeyVersion] = {}
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
        """``MVNOGUARD_VAULT_KEY`` if set, else ``HOME/keys/vault.json`` (created if absent).

        Checked against ``HOME/keys/vault.check``, the ring's fingerprints as this home first
        used it: a ring whose key of the same version differs (another home's
        ``MVNOGUARD_VAULT_KEY``, a restored wrong file) is refused, and so is creating a fresh
        ring where one was used before (a lost key file): either would store new identities
        beside data no key opens any more, under tokens that never match the old ones.
        """
        check = settings.keys_dir / VAULT_CHECK_FILE
        if settings.vault_key is not None:
            ring = cls.from_json(settings.vault_key.get_secret_value())
        else:
            path = settings.keys_dir / VAULT_KEY_FILE
            if check.exists() and not path.exists():
                raise ConfigurationError(
                    f"the vault key file {path} is missing, but this home's identity data was "
                    "sealed with it: restore the file from its backup (a new key could open "
                    "none of that data)",
                    code="vault_key_missing",
                )
            ring = cls.load_or_create(path)
        ring.check_against(check)
        return ring

    def fingerprints(self) -> dict[str, str]:
        """Per version, a keyed hash of a fixed text: which keys a ring holds, not the keys."""
        return {
            str(version): hmac.new(keys.mac, _CHECK_TEXT, "sha256").hexdigest()
            for version, keys in self._keys.items()
        }

    def check_against(self, path: Path) -> None:
        """Refuse this ring if a version it shares with ``path``'s fingerprints differs; then
        record the versions the file lacks (new ones after a rotation)."""
        mine = self.fingerprints()
        try:
            known: Any = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            known = {}
        except (OSError, ValueError) as exc:
            raise ConfigurationError(
                f"the vault check file {path} cannot be read ({type(exc).__name__}); "
                "restore it from its backup"
            ) from None
        if not isinstance(known, dict) or not all(
            isinstance(k, str) and k.isdigit() and isinstance(v, str) for k, v in known.items()
        ):
            raise ConfigurationError(
                f"the vault check file {path} is not a map of key versions to fingerprints; "
                "restore it from its backup"
            )
        differ = sorted(v for v in mine.keys() & known.keys() if mine[v] != known[v])
        if differ or (known and not mine.keys() & known.keys()):
            which = f"key version {differ[0]} differs" if differ else "no key version in common"
            raise ConfigurationError(
                f"the vault key ring is not the one this home's data was sealed with ({which}): "
                "use the home's own key file or MVNOGUARD_VAULT_KEY",
                code="vault_key_mismatch",
            )
        newest = max((int(v) for v in known), default=0)
        if self.current < newest:
            raise ConfigurationError(
                f"the vault key ring's current version {self.current} is older than this home's "
                f"newest, {newest} (a key file from before a rotation?): data sealed since would "
                "not open, and new identities would get tokens that match none of it; use the "
                "home's current key file or MVNOGUARD_VAULT_KEY",
                code="vault_key_stale",
            )
        if mine.keys() - known.keys():
            _ensure_private_dir(path)
            tmp = _write_private_temp(path, json.dumps({**known, **mine}, sort_keys=True))
            tmp.replace(path)

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


# -- helpers ------------------------------------------------------------------------------


def _new_key_version() -> KeyVersion:
    return KeyVersion(
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
) -> KeyVersion:
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
    return KeyVersion(material["enc"], material["mac"], created_at)


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


class KeyLease:
    """This process's hold on a home's key ring, so no version is retired under a process that
    still seals or looks up with it.

    Every process that opens the vault (a command, each ``serve`` worker) holds a shared lock
    on ``HOME/keys/vault.lock`` until it ends; ``vault rotate`` must have it alone
    (:meth:`take_alone`). A process started during a rotation is refused (``vault_rotating``),
    and a rotation while another process holds the ring is refused (``vault_in_use``): a
    server that kept the old ring would seal new data under the retired version and miss
    identities re-keyed under the new one. Processes on other machines sharing a PostgreSQL
    store hold no lock here: stop them before a rotation (see README).
    """

    def __init__(self, path: Path) -> None:
        self._fd: int | None = None
        if fcntl is None:  # no advisory locks here: nothing to hold
            return
        _ensure_private_dir(path)
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        except OSError as exc:
            raise _file_error(path, "open", exc) from exc
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise ConfigurationError(
                "the vault's keys are being rotated (mvnoguard vault rotate): try again when "
                "it has finished",
                code="vault_rotating",
            ) from None
        self._fd = fd

    def take_alone(self) -> None:
        """Hold the ring alone (a rotation), or refuse while another process holds it."""
        if self._fd is None or fcntl is None:
            return
        try:
            fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise ConfigurationError(
                "other mvnoguard processes are using this home's vault keys (mvnoguard serve, "
                "or another command): stop them, then rotate",
                code="vault_in_use",
            ) from None

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing the file lets go of its lock
            self._fd = None
