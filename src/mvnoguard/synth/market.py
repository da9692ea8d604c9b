"""The synthetic market generator: the embedded demo data and the benchmark input.

:func:`generate_market` writes the data contract files of DESIGN.md into a folder:
``enterprises``, ``number_blocks``, ``outlets`` (``.parquet`` or ``.csv``), one registry
snapshot per issuing enterprise under ``subscribers/`` (``subscribers/E01.parquet``, ...) and
``truth.json``, the exact audit result and market summary the files imply (see
:mod:`.truth`). At scale 1.0 the market is the seed article's: 42 approved enterprises, 39
issuing, 20,590,000 non-cancelled subscribers (7 enterprises above 1 million, 3 above 2
million, 1 above 4 million), plus 5-10 % cancelled history.

Generation is vectorised and streamed: an enterprise's rows are planned as numeric arrays
(:mod:`.holders`, :mod:`.signup`), then turned into Arrow tables and written one row group
(about a million rows) at a time, by a background thread so that writing overlaps with
building. The same seed gives byte-identical files.
"""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor, wait
from datetime import date
from pathlib import Path

import numpy as np
import pyarrow as pa

from mvnoguard.output_paths import output_folder

from .catalog import ENTERPRISES, KINDS
from .holders import lay_out
from .numbers import OutsidePools
from .people import People
from .plan import plan_market
from .rows import IdCounter, Rows
from .signup import sign_up
from .tables import (
    SUBSCRIBER_SCHEMA,
    Format,
    TableWriter,
    blocks_table,
    enterprises_table,
    outlets_table,
    subscribers_table,
    write_table,
)
from .truth import EnterpriseTruth, MarketSummary, MarketTruth

__all__ = ["CHUNK_ROWS", "generate_market"]

CHUNK_ROWS = 1 << 20
_IN_FLIGHT = 2
_OURS = re.compile(r"(enterprises|number_blocks|outlets)\.(parquet|csv)|truth\.json")
_OUR_SUBSCRIBERS = re.compile(r"E\d{2}\.(parquet|csv)")


class _Writes:
    """Subscriber files written by one background thread, in submission order, so that
    building the next piece overlaps with compressing and writing the previous ones. At most
    ``_IN_FLIGHT`` pieces wait at a time (bounded memory)."""

    def __init__(self, progress: Callable[[int], None] | None) -> None:
        self.progress = progress
        self.written = 0
        self.pending: deque[tuple[Future[None], int]] = deque()
        self.writers: list[TableWriter] = []
        self.pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="synth-writer")

    def __enter__(self) -> _Writes:
        return self

    def __exit__(self, *exc: object) -> None:
        for future, _rows in self.pending:
            future.cancel()
        wait([future for future, _rows in self.pending])
        self.pool.shutdown()
        for writer in self.writers:  # no-ops unless an error left them open
            writer.close()

    def open(self, path: Path, fmt: Format) -> TableWriter:
        writer = TableWriter(path, SUBSCRIBER_SCHEMA, fmt)
        self.writers.append(writer)
        return writer

    def submit(self, writer: TableWriter, table: pa.Table) -> None:
        while len(self.pending) >= _IN_FLIGHT:
            self._settle()
        self.pending.append((self.pool.submit(writer.write, table), table.num_rows))

    def close(self, writer: TableWriter) -> None:
        self.pending.append((self.pool.submit(writer.close), 0))

    def drain(self) -> None:
        while self.pending:
            self._settle()

    def _settle(self) -> None:
        future, rows = self.pending.popleft()
        future.result()
        if rows:
            self.written += rows
            if self.progress is not None:
                self.progress(self.written)


def _enterprise_truth(code: str, rows: Rows) -> EnterpriseTruth:
    live = rows.live
    mask = rows.mask[live]
    audited = int(live.sum())
    violating = int((mask != 0).sum())
    return EnterpriseTruth(
        enterprise_code=code,
        audited=audited,
        violating=violating,
        violation_rate=violating / audited if audited else 0.0,
        violations={k.value: int(((mask >> i) & 1).sum()) for i, k in enumerate(KINDS)},
        rows=len(rows),
        cancelled=len(rows) - audited,
    )


def _clear(out_dir: Path) -> None:
    """Remove files an earlier run (of either format) left, so readers see one market."""
    for path in out_dir.glob("*"):
        if path.is_file() and _OURS.fullmatch(path.name):
            path.unlink()
    for path in (out_dir / "subscribers").glob("*"):
        if path.is_file() and _OUR_SUBSCRIBERS.fullmatch(path.name):
            path.unlink()


def generate_market(
    out_dir: Path,
    *,
    scale: float = 1.0,
    seed: int = 0,
    fmt: Format = "parquet",
    as_of: date = date(2015, 12, 31),
    progress: Callable[[int], None] | None = None,
) -> MarketTruth:
    """Write a synthetic market into ``out_dir`` and return its ground truth.

    ``scale`` multiplies the subscriber count (``round(20_590_000 * scale)`` non-cancelled
    subscribers; up to about 4). ``progress``, when given, is called after each written piece
    with the total number of subscriber rows written so far (cancelled ones included).
    Raises ``ValueError`` for a scale or as-of date the market cannot have.
    """
    if fmt not in ("parquet", "csv"):
        raise ValueError(f"unknown format {fmt!r}: expected parquet or csv")
    plan = plan_market(scale, seed, as_of)
    people = People(seed, as_of)
    output_folder(out_dir)
    output_folder(out_dir / "subscribers")
    _clear(out_dir)
    write_table(out_dir / f"enterprises.{fmt}", enterprises_table(), fmt)
    write_table(out_dir / f"number_blocks.{fmt}", blocks_table(plan.blocks), fmt)
    write_table(out_dir / f"outlets.{fmt}", outlets_table(plan.outlets), fmt)

    ids = IdCounter(plan.first_free_id)
    boundary_ids = IdCounter(0)
    pools = OutsidePools(seed)
    truths: list[EnterpriseTruth] = []
    _, spread_counts = np.unique(
        np.concatenate([e.spread_ids for e in plan.enterprises]), return_counts=True
    )
    look_alikes = {"people_at_several_enterprises": int((spread_counts >= 2).sum())}
    with _Writes(progress) as writes:
        for number, ep in enumerate(plan.enterprises):
            if not ep.spec.issuing:
                truths.append(
                    EnterpriseTruth(ep.code, 0, 0, 0.0, {k.value: 0 for k in KINDS}, 0, 0)
                )
                continue
            rng = np.random.default_rng([seed, 0x524F5753, number])
            columns = lay_out(ep, people, ids, boundary_ids, rng)
            rows, outlet_codes, stats = sign_up(columns, ep, plan, ids, pools, rng)
            rows = rows.take(np.argsort(rows.act, kind="stable"))  # registry order
            for key, value in stats.items():
                look_alikes[key] = look_alikes.get(key, 0) + value
            truths.append(_enterprise_truth(ep.code, rows))
            writer = writes.open(out_dir / "subscribers" / f"{ep.code}.{fmt}", fmt)
            for lo in range(0, len(rows), CHUNK_ROWS):
                piece = rows.take(slice(lo, lo + CHUNK_ROWS))
                writes.submit(writer, subscribers_table(piece, ep.code, outlet_codes, people))
            writes.close(writer)  # in the background, after its last piece
            del rows
        writes.drain()

    truth = MarketTruth(
        seed=seed,
        scale=scale,
        as_of=as_of.isoformat(),
        format=fmt,
        market=MarketSummary.from_enterprises(len(ENTERPRISES), [t.audited for t in truths]),
        enterprises=truths,
        look_alikes=look_alikes,
    )
    (out_dir / "truth.json").write_text(truth.to_json(), encoding="utf-8")
    return truth
