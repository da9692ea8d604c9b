"""Moving the imported registry snapshots to the vault's current key version.

``vault rotate`` moves the store's identity records; the per-enterprise Parquet snapshots of
``registry import`` hold sealed document numbers and names and keyed tokens too. Left behind,
their ciphertexts would need the retired key, and their tokens would no longer match the
tokens of identities imported or signed up after the rotation (the audit counts one person's
cards across enterprises by token). Each file is rewritten batch by batch under the current
version and replaces the old one only when whole.
"""

from __future__ import annotations

from collections.abc import Sequence

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from mvnoguard.analytics import store
from mvnoguard.analytics.store import RegistryStore, reading_snapshots
from mvnoguard.identity.columns import identity_token_column
from mvnoguard.identity.vault import PiiVault

_BATCH_ROWS = 100_000
# (ciphertext column, its vault context, the document-type column and token column it feeds,
# the nationality column a passport's token takes; the contract gives none for guardian and agent)
_SEALED = (
    ("doc_number_ct", "doc_number", "doc_type", "doc_token", "nationality"),
    ("name_ct", "name", None, None, None),
    ("guardian_number_ct", "doc_number", "guardian_doc_type", "guardian_token", None),
    ("agent_number_ct", "doc_number", "agent_doc_type", "agent_token", None),
)


def _opened(vault: PiiVault, sealed: Sequence[bytes | None], context: str) -> list[str | None]:
    return [None if blob is None else vault.decrypt(blob, context=context) for blob in sealed]


def _rekeyed(table: pa.Table, vault: PiiVault, *, reseal: bool) -> pa.Table:
    for sealed, context, type_column, token_column, nation_column in _SEALED:
        if not reseal and token_column is None:
            continue
        clear = _opened(vault, table.column(sealed).to_pylist(), context)
        if reseal:
            resealed = pa.array(vault.encrypt_many(clear, context=context), pa.binary())
            table = table.set_column(table.schema.get_field_index(sealed), sealed, resealed)
        if type_column is not None and token_column is not None:
            numbers = pa.array(clear, pa.string())
            tokens = identity_token_column(
                vault,
                table.column(type_column).combine_chunks(),
                numbers,
                None if nation_column is None else table.column(nation_column).combine_chunks(),
            )
            # Only a token there is moved, and only where its number is still sealed: the import
            # gives none to an invalid document, and a purged row keeps its token (its number is
            # gone), so a rotation never changes which rows an audit counts.
            old = table.column(token_column).combine_chunks()
            moved = pc.if_else(
                pc.and_(pc.is_valid(old), pc.is_valid(numbers)), pa.array(tokens, pa.string()), old
            )
            index = table.schema.get_field_index(token_column)
            table = table.set_column(index, token_column, moved)
    return table


def rotate_snapshots(registry: RegistryStore, vault: PiiVault) -> int:
    """Reseal and re-token every snapshot row under ``vault``'s current version (the ring must
    still hold the versions the files were written under); returns the rows moved."""
    return _rewrite(registry, vault, reseal=True)


def retoken_snapshots(registry: RegistryStore, vault: PiiVault) -> int:
    """Recompute every snapshot row's tokens from its sealed numbers, the ciphertexts as they
    are: for files written before the identity key took a passport's nationality (see
    :func:`mvnoguard.identity.vault.identity_key`). Returns the rows read."""
    return _rewrite(registry, vault, reseal=False)


def check_snapshots(registry: RegistryStore) -> None:
    """Every snapshot file opens as Parquet: checked before a rotation moves anything."""
    with reading_snapshots("vault rotate"):
        for path in registry.subscriber_files():
            pq.ParquetFile(path).close()


def _rewrite(registry: RegistryStore, vault: PiiVault, *, reseal: bool) -> int:
    moved = 0
    job = "vault rotate" if reseal else "re-tokening the imported snapshots"
    for path in registry.subscriber_files():
        tmp = path.with_suffix(".rotating")
        try:
            with reading_snapshots(job), pq.ParquetWriter(tmp, store.SUBSCRIBERS) as writer:
                for batch in pq.ParquetFile(path).iter_batches(batch_size=_BATCH_ROWS):
                    table = pa.Table.from_batches([batch]).cast(store.SUBSCRIBERS)
                    writer.write_table(_rekeyed(table, vault, reseal=reseal))
                    moved += batch.num_rows
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        tmp.replace(path)
    return moved
