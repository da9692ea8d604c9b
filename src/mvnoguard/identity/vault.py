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

Keys live in a :class:`~mvnoguard.identity.key_ring.KeyRing` of numbered versions (see that
module for how a ring is made, kept and rotated); ``reencrypt`` moves blobs to the current
version before an old one is retired.

Failures map onto the one error hierarchy:

* a blob whose key version is not in the ring -> ``ConfigurationError`` (code
  ``vault_key_missing``): the environment lacks a key, the fix is to restore it;
* a blob that is truncated, of an unknown format or fails authentication (tampered, corrupted,
  or read with the wrong ``context``) -> ``MvnoguardError`` (code ``vault_tampered``, HTTP 500):
  stored data failed its integrity check, which is neither the caller's input nor a setting;
* text that cannot be encoded as UTF-8 -> ``InvalidInput``;

This module must never log, and never put plaintext or key material into an exception message,
an exception chain or a ``repr``.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import secrets
import struct
import unicodedata
from collections.abc import Sequence

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from mvnoguard.errors import ConfigurationError, InvalidInput, MvnoguardError
from mvnoguard.identity.key_ring import VAULT_KEY_FILE, KeyRing

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

NONCE_BYTES = 12
TAG_BYTES = 16
BLOB_FORMAT = 1
TOKEN_HEX_CHARS = 48  # 192 bits: collision-free at any market size, short enough for an index
_HEADER = struct.Struct(">BH")  # format version, key version
_MIN_BLOB = _HEADER.size + NONCE_BYTES + TAG_BYTES
_UNIT_SEPARATOR = "\x1f"  # ASCII unit separator: cannot occur in a kind
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


class PiiVault:
    """Encrypts, decrypts and tokenises personal data under a ``KeyRing``."""

    __slots__ = ("_ciphers", "_ring")

    def __init__(self, ring: KeyRing) -> None:
        self._ring = ring
        self._ciphers = {v: AESGCM(k.enc) for v, k in ring.keys().items()}

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
        key = self._ring.key(version)
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

    def identity_token(self, doc_type: str, number: str, nationality: str | None = None) -> str:
        """The token of one identity document, over its normalised (doc_type, number) and, for
        a passport, its nationality (see :func:`identity_key`)."""
        return self.token("identity", identity_key(doc_type, number, nationality))

    def token_many(self, kind: str, values: Sequence[str | None]) -> list[str | None]:
        """``token(kind, value)`` for a column of values that are already exact (None stays None).

        The HMAC is spelled out over two pre-keyed SHA-256 states (RFC 2104), which gives the
        same digest as ``hmac.new`` at a fraction of its per-call cost.
        """
        version = self._ring.current
        key = self._ring.key(version)
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

    def identity_tokens(
        self, doc_type: str, number: str, nationality: str | None = None
    ) -> tuple[str, ...]:
        """``identity_token`` under every version in the ring, current first."""
        return self.tokens("identity", identity_key(doc_type, number, nationality))


# -- masking ------------------------------------------------------------------------------


def mask_name(name: str) -> str:
    """A name for display: ``张三丰`` -> ``张**``, ``John Smith`` -> ``J*** S****``.

    A name with any CJK ideograph keeps its first character (the family name) and masks the
    rest, whitespace dropped; otherwise each word keeps its first letter. Nothing else of the
    name survives, and a name that would survive whole (one letter per word) is all masked.
    """
    words = name.split()
    if not words:
        return ""
    if any(_is_cjk(ch) for ch in name):
        joined = "".join(words)
        masked = joined[0] + "*" * (len(joined) - 1)
    else:
        masked = " ".join(word[0] + "*" * (len(word) - 1) for word in words)
    if "*" not in masked:  # one letter per word ("A", "J K"): the rule would show it all
        return " ".join("*" * len(word) for word in masked.split())
    return masked


def mask_number(number: str) -> str:
    """A document number for display, length kept: ``110101199003071234`` -> ``1101**********1234``.

    At most half the number shows: 15 characters or more (resident identity cards) keep the
    first and last 4; 9 to 14 (passports, travel permits) the first and last 2; 3 to 8 the first
    and last; 1 or 2 are all masked.
    """
    n = len(number)
    kept = number_kept(n)
    return number[:kept] + "*" * (n - 2 * kept) + (number[-kept:] if kept else "")


def number_kept(length: int) -> int:
    """How many characters :func:`mask_number` keeps at each end of a number this long."""
    return 4 if length >= 15 else 2 if length >= 9 else 1 if length >= 3 else 0


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


PASSPORT = "PASSPORT"


def identity_key(doc_type: str, number: str, nationality: str | None = None) -> str:
    """What an identity token is computed over: ``TYPE:NUMBER``, and for a passport whose
    nationality is known ``PASSPORT:NUMBER`` + unit separator + the nationality.

    A passport number is unique only within the state that issued it: two people holding
    ``E12345678`` of two countries are two identities. Every other document type is issued
    under one numbering (a RIC, a Hong Kong or Taiwan permit, a permanent residence card), so
    its number alone names the person, and ``nationality`` is ignored. NFKC folds full-width
    digits and letters; upper-casing makes a RIC's "x" and "X" one.

    A type holding ``:`` or any part holding a control character (only malformed input does)
    is keyed as ``:`` + a JSON list of the parts instead, which no plain key starts with: no
    two different documents share a key.
    """
    doc = _nfkc(doc_type).strip().upper()
    num = _nfkc(number).strip().upper()
    if not doc:
        raise ValueError("doc_type must be non-empty")
    nation = _nfkc(nationality).strip().upper() if nationality and doc == PASSPORT else ""
    if ":" in doc or any(_CONTROL.search(part) for part in (doc, num, nation)):
        return ":" + json.dumps([doc, num, nation], ensure_ascii=False)
    if nation:
        return f"{doc}:{num}{_UNIT_SEPARATOR}{nation}"
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
