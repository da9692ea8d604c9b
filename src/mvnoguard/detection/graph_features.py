"""Per-user features from the Sichuan call graph: structure, neighbours' behaviour, known fraud.

The graph is two files in the data folder: ``nodes.csv`` (``node,phone_no_m``) and
``call_graph_edges.csv.gz`` (``src,dst`` node indices, directed). It covers training and test
users alike, so structural features (degrees, reciprocity, neighbours' mean behaviour) use no
labels and are the same at training and prediction time.

Label features (how many neighbours are known fraud) are where leakage hides. This module
never lets a user's own label reach its own features: a label is only ever counted for the
user's *neighbours* (the graph has no self loops, and any that appear are dropped), and callers
choose which labels are visible (:func:`out_of_fold_label_features` hides each fold's labels
from that fold). Counts are divided by the share of training users whose labels were visible,
so features computed with 80% of the labels (out-of-fold, at training) and with 100% (at
prediction) stay on one scale.

It must never read a label file itself: labels come in as arrays from the caller.
"""

from __future__ import annotations

import csv
import gzip
import importlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.model_selection import StratifiedKFold

from mvnoguard.errors import DataFileError

# scipy ships no type information; it is reached through an Any-typed handle.
_SPARSE: Any = importlib.import_module("scipy.sparse")

FloatArray = np.ndarray[Any, np.dtype[np.float64]]
IntArray = np.ndarray[Any, np.dtype[np.int64]]

NODES_FILE = "nodes.csv"
EDGES_FILE = "call_graph_edges.csv.gz"

STRUCTURE_FEATURES: tuple[str, ...] = (
    "graph_out_degree",
    "graph_in_degree",
    "graph_neighbours",
    "graph_reciprocity_share",
    "graph_neighbour_degree_mean",
)
LABEL_FEATURES: tuple[str, ...] = (
    "graph_known_neighbours",
    "graph_fraud_neighbours",
    "graph_fraud_neighbour_share",
    "graph_fraud_share_2hop",
)


@dataclass(frozen=True)
class CallGraph:
    """The call graph by node index, with the phone of each node."""

    phones: tuple[str, ...]
    node_of: dict[str, int]
    directed: Any  # scipy.sparse CSR, 0/1, no self loops
    undirected: Any  # scipy.sparse CSR, 0/1, symmetric, no self loops

    @property
    def size(self) -> int:
        return len(self.phones)

    def nodes(self, phones: Sequence[str]) -> IntArray:
        """Node index of each phone, -1 where the phone is not in the graph."""
        return np.array([self.node_of.get(phone, -1) for phone in phones], dtype=np.int64)


def has_call_graph(folder: str | Path) -> bool:
    return (Path(folder) / NODES_FILE).is_file() and (Path(folder) / EDGES_FILE).is_file()


def read_call_graph(folder: str | Path) -> CallGraph:
    """Read ``nodes.csv`` and ``call_graph_edges.csv.gz`` from ``folder``."""
    folder = Path(folder)
    phones: list[str] = []
    try:
        with (folder / NODES_FILE).open(newline="", encoding="utf-8") as handle:
            reader = csv.DictReader(handle)
            by_node = {int(row["node"]): row["phone_no_m"] for row in reader}
        phones = [by_node[node] for node in range(len(by_node))]
        with gzip.open(folder / EDGES_FILE, "rt", newline="", encoding="utf-8") as handle:
            pairs = [(int(row["src"]), int(row["dst"])) for row in csv.DictReader(handle)]
    except (OSError, KeyError, ValueError, TypeError, EOFError) as exc:
        raise DataFileError(
            f"cannot read the call graph in {folder.name}: {exc}", code="graph_unreadable"
        ) from exc
    size = len(phones)
    edges = np.array(pairs, dtype=np.int64).reshape(-1, 2)
    if edges.size and (edges.min() < 0 or edges.max() >= size):
        raise DataFileError(
            f"{EDGES_FILE} names a node outside 0..{size - 1}", code="graph_unreadable"
        )
    edges = edges[edges[:, 0] != edges[:, 1]]  # a self loop would feed a user its own label
    directed = _SPARSE.csr_matrix(
        (np.ones(len(edges)), (edges[:, 0], edges[:, 1])), shape=(size, size)
    )
    directed.data[:] = 1.0  # duplicate edges count once
    undirected = ((directed + directed.T) > 0).astype(np.float64).tocsr()
    return CallGraph(
        phones=tuple(phones),
        node_of={phone: node for node, phone in enumerate(phones)},
        directed=directed,
        undirected=undirected,
    )


def _vector(matrix: Any) -> FloatArray:
    return np.asarray(matrix, dtype=np.float64).ravel()


def _rows(values: FloatArray, nodes: IntArray) -> FloatArray:
    """Pick node rows; users outside the graph get NaN (LightGBM treats it as missing)."""
    out = np.full((len(nodes), values.shape[1]), np.nan)
    inside = nodes >= 0
    out[inside] = values[nodes[inside]]
    return out


def structure_features(
    graph: CallGraph,
    phones: Sequence[str],
    behaviour_phones: Sequence[str],
    behaviour: FloatArray,
    behaviour_names: Sequence[str],
) -> tuple[FloatArray, list[str]]:
    """Label-free features of ``phones``: degrees, reciprocity, neighbours' mean behaviour.

    ``behaviour`` holds a few base features (columns ``behaviour_names``) of the users
    ``behaviour_phones``; a neighbour mean averages over the neighbours whose values are known.
    """
    directed, undirected = graph.directed, graph.undirected
    out_degree = _vector(directed.sum(axis=1))
    in_degree = _vector(directed.sum(axis=0))
    neighbours = _vector(undirected.sum(axis=1))
    reciprocal = _vector(directed.multiply(directed.T).sum(axis=1))
    safe = np.maximum(neighbours, 1.0)
    neighbour_degree = _vector(undirected @ neighbours) / safe
    columns = [out_degree, in_degree, neighbours, reciprocal / safe, neighbour_degree]

    values = np.full((graph.size, behaviour.shape[1]), np.nan)
    where = graph.nodes(behaviour_phones)
    values[where[where >= 0]] = behaviour[where >= 0]
    known = ~np.isnan(values)
    sums = np.asarray(undirected @ np.where(known, values, 0.0))
    counts = np.asarray(undirected @ known.astype(np.float64))
    with np.errstate(invalid="ignore", divide="ignore"):
        means = np.where(counts > 0, sums / np.maximum(counts, 1.0), np.nan)
    node_values = np.column_stack([*columns, means])
    names = [*STRUCTURE_FEATURES, *(f"graph_neighbour_mean_{name}" for name in behaviour_names)]
    return _rows(node_values, graph.nodes(phones)), names


def label_features(
    graph: CallGraph,
    phones: Sequence[str],
    known_phones: Sequence[str],
    known_labels: IntArray,
    visible_share: float = 1.0,
) -> FloatArray:
    """Known-fraud neighbourhood of ``phones`` given the labels of ``known_phones`` only.

    A user's own label never counts (no self loops), even when the user is among
    ``known_phones``. ``visible_share`` is the share of all training labels that
    ``known_phones`` represents; counts are divided by it to stay on one scale.
    """
    known = np.zeros(graph.size)
    fraud = np.zeros(graph.size)
    nodes = graph.nodes(known_phones)
    inside = nodes >= 0
    known[nodes[inside]] = 1.0
    fraud[nodes[inside]] = np.asarray(known_labels, dtype=np.float64)[inside]
    undirected = graph.undirected
    known_count = _vector(undirected @ known)
    fraud_count = _vector(undirected @ fraud)
    # Two hops out would come back through every neighbour to the user itself (i -> j -> i,
    # once per neighbour): take those paths out so its own label cannot return.
    degree = _vector(undirected.sum(axis=1))
    known_2hop = _vector(undirected @ known_count) - degree * known
    fraud_2hop = _vector(undirected @ fraud_count) - degree * fraud
    with np.errstate(invalid="ignore", divide="ignore"):
        share = np.where(known_count > 0, fraud_count / known_count, np.nan)
        share_2hop = np.where(known_2hop > 0, fraud_2hop / known_2hop, np.nan)
    scale = 1.0 / max(visible_share, 1e-9)
    node_values = np.column_stack([known_count * scale, fraud_count * scale, share, share_2hop])
    return _rows(node_values, graph.nodes(phones))


def out_of_fold_label_features(
    graph: CallGraph,
    phones: Sequence[str],
    labels: IntArray,
    *,
    folds: int = 5,
    seed: int = 0,
    population: int | None = None,
) -> FloatArray:
    """Label features of labelled users, each computed with its own fold's labels hidden.

    This is how training rows get label features: a model never sees a row whose features
    were built from that row's label or from the labels of the rows it is validated with.
    ``population`` is the number of labelled users the counts are scaled to (default: all of
    ``labels``), so a subset's features share the scale of the full training set's.
    """
    labels = np.asarray(labels, dtype=np.int64)
    out = np.full((len(phones), len(LABEL_FEATURES)), np.nan)
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    phone_array = np.asarray(phones, dtype=object)
    for visible, hidden in splitter.split(np.zeros(len(labels)), labels):
        out[hidden] = label_features(
            graph,
            list(phone_array[hidden]),
            list(phone_array[visible]),
            labels[visible],
            visible_share=len(visible) / (population or len(labels)),
        )
    return out


__all__ = [
    "EDGES_FILE",
    "LABEL_FEATURES",
    "NODES_FILE",
    "STRUCTURE_FEATURES",
    "CallGraph",
    "has_call_graph",
    "label_features",
    "out_of_fold_label_features",
    "read_call_graph",
    "structure_features",
]
