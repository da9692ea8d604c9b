"""Synthetic market generator: the embedded demo data and the benchmark input.

``generate_market(out_dir, scale=..., seed=...)`` writes the data contract files of
DESIGN.md (enterprises, number blocks, outlets, one subscriber registry snapshot per issuing
enterprise) with planted real-name violations of every audit kind, and ``truth.json``, the
exact audit result those files imply. Modules:

* :mod:`.catalog`: the 42 enterprises (names, host networks, sizes, the worst offenders);
* :mod:`.plan`: every count decided up front (sizes, defects, outlets, number blocks);
* :mod:`.people`, :mod:`.names`: identities, documents (valid and spoiled), birth dates,
  names;
* :mod:`.numbers`: number blocks and the pools numbers outside them come from;
* :mod:`.rows`, :mod:`.holders`, :mod:`.signup`: one enterprise's rows as numeric arrays
  (who holds which card and when; where, how and with which number it was signed up), with
  a violation bit set wherever a defect is planted;
* :mod:`.tables`: contract schemas, Arrow tables, Parquet/CSV writers;
* :mod:`.vectors`: hashing, bijections, dates and Arrow strings without per-row Python;
* :mod:`.truth`: the ground truth (:class:`MarketTruth`);
* :mod:`.market`: :func:`generate_market`, which ties them together.

``generate_traffic(out, users=..., days=..., seed=...)`` writes a week of call and message
records (the ``calls``, ``messages`` and ``complaints`` contracts) of a market's subscribers,
with planted fraud callers, SIM pools, harassing and ring-once dialers, spam senders and
legitimate heavy callers, and ``truth.csv``/``truth.json``: :mod:`.traffic` ties together
:mod:`.traffic_people` (kinds and each subscriber's own behaviour), :mod:`.traffic_calls`,
:mod:`.traffic_messages`, :mod:`.traffic_texts` (message and complaint templates) and
:mod:`.traffic_tables` (schemas, number spellings, bad rows, part files).
"""

from __future__ import annotations

from .market import generate_market
from .traffic import TrafficTruth, generate_traffic
from .truth import EnterpriseTruth, MarketSummary, MarketTruth

__all__ = [
    "EnterpriseTruth",
    "MarketSummary",
    "MarketTruth",
    "TrafficTruth",
    "generate_market",
    "generate_traffic",
]
