"""Identity records: the only place the registry turns a document into stored ciphertext.

A document is stored once per keyed token (doc type + normalised number), encrypted with the
vault, with its masked forms kept for display. Reading clear identity data goes through
:func:`reveal`, which always leaves an audit entry. Nothing here logs or returns clear text
except :func:`reveal`'s answer to the caller that asked for it.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from mvnoguard.domain.documents import DocumentCheck
from mvnoguard.identity.vault import PiiVault, mask_name, mask_number
from mvnoguard.storage import audit_log
from mvnoguard.storage.models import Identity

NUMBER_CONTEXT = "doc_number"
NAME_CONTEXT = "name"
PURGED = "(purged)"


def token_for(vault: PiiVault, check: DocumentCheck) -> str:
    return vault.identity_token(str(check.doc_type), check.number, check.nationality)


def find_identity(session: Session, vault: PiiVault, check: DocumentCheck) -> Identity | None:
    """The stored identity of a document, under the current token or one from before a rotation."""
    tokens = vault.identity_tokens(str(check.doc_type), check.number, check.nationality)
    return session.scalar(select(Identity).where(Identity.token.in_(tokens)).limit(1))


def same_name(a: str, b: str) -> bool:
    """Two spellings of one name: width, case and spaces aside ("王 小明" is "王小明")."""

    def fold(text: str) -> str:
        return "".join(unicodedata.normalize("NFKC", text).split()).casefold()

    return fold(a) == fold(b)


def name_matches(vault: PiiVault, identity: Identity, name: str) -> bool:
    """Whether ``name`` is the name stored with ``identity`` (True when none is stored).

    The caller audits the comparison once its transaction may write.
    """
    if identity.name_ciphertext is None:
        return True
    return same_name(vault.decrypt(identity.name_ciphertext, context=NAME_CONTEXT), name)


def find_or_create_identity(
    session: Session, vault: PiiVault, check: DocumentCheck, name: str | None, *, at: datetime
) -> Identity:
    """The stored identity for a validated document, created (or refilled after purge) as needed."""
    return store_identity(
        session, vault, check, name, at=at, found=find_identity(session, vault, check)
    )


def store_identity(
    session: Session,
    vault: PiiVault,
    check: DocumentCheck,
    name: str | None,
    *,
    at: datetime,
    found: Identity | None,
) -> Identity:
    """``found`` (this transaction's :func:`find_identity` answer for the document), refilled
    after a purge, or a new identity when it is None."""
    identity = found
    if identity is None:
        identity = Identity(
            token=token_for(vault, check),
            doc_type=str(check.doc_type),
            number_masked=mask_number(check.number),
            nationality=check.nationality,
            created_at=at,
        )
        session.add(identity)
    if identity.number_ciphertext is None:
        identity.number_ciphertext = vault.encrypt(check.number, context=NUMBER_CONTEXT)
        identity.number_masked = mask_number(check.number)  # was "(purged)" after a purge
        identity.purged_at = None
    if name and identity.name_ciphertext is None:
        identity.name_ciphertext = vault.encrypt(name, context=NAME_CONTEXT)
        identity.name_masked = mask_name(name)
    session.flush()
    return identity


@dataclass(frozen=True)
class RevealedIdentity:
    doc_type: str
    number: str | None
    name: str | None


def reveal(
    session: Session, vault: PiiVault, identity: Identity, *, actor: str, purpose: str
) -> RevealedIdentity:
    """Clear identity data for a role that needs it; the access is written to the audit log."""
    audit_log.append(
        session,
        actor=actor,
        action="identity.reveal",
        subject=f"identity:{identity.id}",
        detail=purpose,
    )
    number = (
        vault.decrypt(identity.number_ciphertext, context=NUMBER_CONTEXT)
        if identity.number_ciphertext is not None
        else None
    )
    name = (
        vault.decrypt(identity.name_ciphertext, context=NAME_CONTEXT)
        if identity.name_ciphertext is not None
        else None
    )
    return RevealedIdentity(identity.doc_type, number, name)


def purge(identity: Identity, *, at: datetime) -> None:
    """Remove the identity data; only the keyed token stays, so history rows keep their links."""
    identity.number_ciphertext = None
    identity.number_masked = PURGED
    identity.name_ciphertext = None
    identity.name_masked = None
    identity.purged_at = at


def rotate_keys(session: Session, vault: PiiVault) -> int:
    """Re-encrypt and re-token every stored identity under the vault's current key version.

    The caller saves the key ring holding both old and new versions *before* this runs and
    retires the old version only after the transaction commits, so no record is ever left
    readable by a key that is not saved.
    """
    moved = 0
    for identity in session.scalars(select(Identity)).yield_per(1000):
        if identity.number_ciphertext is not None:
            number = vault.decrypt(identity.number_ciphertext, context=NUMBER_CONTEXT)
            identity.number_ciphertext = vault.encrypt(number, context=NUMBER_CONTEXT)
            identity.token = vault.identity_token(identity.doc_type, number, identity.nationality)
        if identity.name_ciphertext is not None:
            identity.name_ciphertext = vault.reencrypt(
                identity.name_ciphertext, context=NAME_CONTEXT
            )
        moved += 1
    session.flush()
    return moved
