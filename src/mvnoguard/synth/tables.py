"""Arrow tables of the data contracts (DESIGN.md, "Data contracts") and their file writers.

Column names and order are exactly the contract's. Types: strings, ``timestamp[us]`` for
``activated_at``/``cancelled_at`` (naive local time), ``date32`` for ``birth_date`` and
``approved_on``, ``float64`` for ``face_score``, ``bool`` for ``authorized``, nulls where a
value is missing. CSV files carry the same columns with ISO 8601 times
(``2015-03-04T12:34:56``) and empty cells for missing values.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq
from numpy.typing import NDArray

from .catalog import ENTERPRISES
from .numbers import Block
from .people import Ident, People
from .plan import OUTLET_KINDS, Outlets
from .rows import STATUSES, VERIFICATIONS, Rows
from .vectors import IntArray, fixed_width_strings, take_strings

__all__ = [
    "BLOCK_SCHEMA",
    "ENTERPRISE_SCHEMA",
    "OUTLET_SCHEMA",
    "SUBSCRIBER_SCHEMA",
    "Format",
    "TableWriter",
    "blocks_table",
    "enterprises_table",
    "outlets_table",
    "subscribers_table",
    "write_table",
]

Format = Literal["parquet", "csv"]

ENTERPRISE_SCHEMA = pa.schema(
    [
        ("enterprise_code", pa.string()),
        ("name", pa.string()),
        ("host_network", pa.string()),
        ("approved_on", pa.date32()),
        ("license_no", pa.string()),
    ]
)
BLOCK_SCHEMA = pa.schema(
    [("enterprise_code", pa.string()), ("first_number", pa.string()), ("last_number", pa.string())]
)
OUTLET_SCHEMA = pa.schema(
    [
        ("outlet_code", pa.string()),
        ("enterprise_code", pa.string()),
        ("kind", pa.string()),
        ("region_code", pa.string()),
        ("authorized", pa.bool_()),
    ]
)
SUBSCRIBER_SCHEMA = pa.schema(
    [
        ("msisdn", pa.string()),
        ("enterprise_code", pa.string()),
        ("status", pa.string()),
        ("activated_at", pa.timestamp("us")),
        ("cancelled_at", pa.timestamp("us")),
        ("doc_type", pa.string()),
        ("doc_number", pa.string()),
        ("name", pa.string()),
        ("birth_date", pa.date32()),
        ("nationality", pa.string()),
        ("verification_method", pa.string()),
        ("face_score", pa.float64()),
        ("outlet_code", pa.string()),
        ("guardian_doc_type", pa.string()),
        ("guardian_doc_number", pa.string()),
        ("agent_doc_type", pa.string()),
        ("agent_doc_number", pa.string()),
    ]
)
_ROW_GROUP = 1 << 20
# Columns worth a Parquet dictionary (few distinct values); numbers and documents are not.
_DICTIONARY = [
    "enterprise_code",
    "name",
    "host_network",
    "status",
    "doc_type",
    "nationality",
    "verification_method",
    "outlet_code",
    "guardian_doc_type",
    "agent_doc_type",
    "kind",
    "region_code",
]


def enterprises_table() -> pa.Table:
    return pa.table(
        {
            "enterprise_code": [e.code for e in ENTERPRISES],
            "name": [e.name for e in ENTERPRISES],
            "host_network": [e.host_network.value for e in ENTERPRISES],
            "approved_on": [e.approved_on for e in ENTERPRISES],
            "license_no": [e.license_no for e in ENTERPRISES],
        },
        schema=ENTERPRISE_SCHEMA,
    )


def blocks_table(blocks: list[Block]) -> pa.Table:
    return pa.table(
        {
            "enterprise_code": [b.enterprise_code for b in blocks],
            "first_number": [str(b.first_number) for b in blocks],
            "last_number": [str(b.last_number) for b in blocks],
        },
        schema=BLOCK_SCHEMA,
    )


def outlets_table(outlets: Outlets) -> pa.Table:
    return pa.table(
        {
            "outlet_code": list(outlets.codes),
            "enterprise_code": list(outlets.enterprise),
            "kind": take_strings(OUTLET_KINDS, outlets.kind),
            "region_code": pc.cast(pa.array(outlets.region), pa.string()),
            "authorized": pa.array(outlets.authorized),
        },
        schema=OUTLET_SCHEMA,
    )


def _doc_columns(
    people: People, ids: IntArray, present: NDArray[np.bool_]
) -> tuple[pa.Array, pa.Array]:
    """``RIC`` and a valid adult RIC number where ``present``, nulls elsewhere."""
    matrix = np.zeros((ids.size, 18), dtype=np.uint8)
    if present.any():
        matrix[present] = people.adult_ric_matrix(ids[present])
    numbers = fixed_width_strings(matrix, np.full(ids.size, 18, dtype=np.int64), present)
    return take_strings(("RIC",), np.zeros(ids.size, dtype=np.int64), present), numbers


def subscribers_table(rows: Rows, code: str, outlet_codes: list[str], people: People) -> pa.Table:
    """The contract table of a slice of an enterprise's rows."""
    n = len(rows)
    ids = people.identities(rows.ident, rows.pid, rows.birth)
    registered = rows.ident != Ident.UNREGISTERED
    guardian_type, guardian_number = _doc_columns(people, rows.guardian, rows.guardian >= 0)
    agent_type, agent_number = _doc_columns(people, rows.agent, rows.agent >= 0)
    columns = [
        pc.cast(pa.array(rows.msisdn), pa.string()),
        pa.repeat(pa.scalar(code, pa.string()), n),
        take_strings(STATUSES, rows.status),
        pa.array(rows.act * 1_000_000, type=pa.timestamp("us")),
        pa.array(rows.canc * 1_000_000, type=pa.timestamp("us"), mask=rows.canc < 0),
        ids.doc_type,
        ids.doc_number,
        ids.name,
        pa.array(ids.birth_days.astype(np.int32), type=pa.date32(), mask=~registered),
        ids.nationality,
        take_strings(VERIFICATIONS, rows.verif),
        pa.array(rows.face / 1000.0, type=pa.float64(), mask=rows.face < 0),
        take_strings(outlet_codes, rows.outlet),
        guardian_type,
        guardian_number,
        agent_type,
        agent_number,
    ]
    return pa.Table.from_arrays(columns, schema=SUBSCRIBER_SCHEMA)


def _for_csv(table: pa.Table) -> pa.Table:
    """Timestamps as ISO 8601 text without fractions (dates already print as ISO)."""
    for i, f in enumerate(table.schema):
        if pa.types.is_timestamp(f.type):
            text = pc.strftime(table.column(i).cast(pa.timestamp("s")), format="%Y-%m-%dT%H:%M:%S")
            table = table.set_column(i, f.name, text)
    return table


class TableWriter:
    """Writes one contract file in row-group-sized pieces."""

    def __init__(self, path: Path, schema: pa.Schema, fmt: Format) -> None:
        self.fmt = fmt
        self._parquet: pq.ParquetWriter | None = None
        self._csv: pa_csv.CSVWriter | None = None
        if fmt == "parquet":
            self._parquet = pq.ParquetWriter(
                path,
                schema,
                compression="zstd",
                use_dictionary=[c for c in _DICTIONARY if c in schema.names],
            )
        else:
            self._csv = pa_csv.CSVWriter(path, _for_csv(schema.empty_table()).schema)

    def write(self, table: pa.Table) -> None:
        if self._parquet is not None:
            self._parquet.write_table(table, row_group_size=_ROW_GROUP)
        elif self._csv is not None:
            self._csv.write_table(_for_csv(table))

    def close(self) -> None:
        """Finish the file; closing again does nothing."""
        if self._parquet is not None:
            self._parquet.close()
            self._parquet = None
        if self._csv is not None:
            self._csv.close()
            self._csv = None


def write_table(path: Path, table: pa.Table, fmt: Format) -> None:
    writer = TableWriter(path, table.schema, fmt)
    try:
        writer.write(table)
    finally:
        writer.close()
