"""Tests of inspection sample sizes and plans (mvnoguard.supervision.sampling)."""

from __future__ import annotations

import csv
import math
import random
from collections import Counter
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mvnoguard.domain.subscribers import OutletKind
from mvnoguard.errors import DataFileError, InvalidInput
from mvnoguard.supervision.periods import Period, parse_period
from mvnoguard.supervision.sampling import (
    PLAN_COLUMNS,
    OutletRef,
    PlannedInspection,
    allocate_to_strata,
    plan_inspections,
    sample_size,
    write_plan_csv,
)

OWN, AGENT, ONLINE = OutletKind.OWN, OutletKind.AGENT, OutletKind.ONLINE
ROUND = parse_period("2016-11")

# --- sample sizes -----------------------------------------------------------------------------
# Computed by hand (40-digit decimals) with z = 1.9599639845400536, z² = 3.84145882069412...:
#   n0 = z² p (1-p) / e²;  n = n0 / (1 + (n0 - 1) / N), rounded up.
#   p=0.5,   e=0.05: n0 = 384.145882069412...
#     N=109:    384.1459 / (1 + 383.1459/109)    = 85.0803  -> 86
#     N=186:    384.1459 / (1 + 383.1459/186)    = 125.5410 -> 126
#     N=100:                                       79.5093  -> 80
#     N=1000:                                      277.7335 -> 278
#     N=10000:  384.1459 / (1 + 383.1459/10000)  = 369.9706 -> 370
#     N=100000:                                    382.6797 -> 383
#   (80, 278 and 370 are also the published Krejcie & Morgan (1970) table values.)
#   N=109, e=0.05: p=0.339: n0 = 344.3161, n = 82.9740 -> 83
#                  p=0.118: n0 = 159.9215, n = 65.0618 -> 66
#                  p=0.05:  n0 = 72.9877,  n = 43.9569 -> 44
#   N=40,  e=0.10, p=0.5:   n0 = 96.0365,  n = 28.4476 -> 29


@pytest.mark.parametrize(
    ("population", "margin", "expected_rate", "expected"),
    [
        (109, 0.05, 0.5, 86),
        (186, 0.05, 0.5, 126),
        (100, 0.05, 0.5, 80),
        (1000, 0.05, 0.5, 278),
        (10000, 0.05, 0.5, 370),
        (100000, 0.05, 0.5, 383),
        (109, 0.05, 0.339, 83),
        (109, 0.05, 0.118, 66),
        (109, 0.05, 0.05, 44),
        (40, 0.10, 0.5, 29),
        (1, 0.05, 0.5, 1),
        (0, 0.05, 0.5, 0),
    ],
)
def test_sample_size_matches_the_hand_computation(
    population: int, margin: float, expected_rate: float, expected: int
) -> None:
    got = sample_size(population, margin=margin, confidence=0.95, expected_rate=expected_rate)
    assert got == expected


def test_sample_size_is_symmetric_in_the_expected_rate() -> None:
    assert sample_size(500, margin=0.05, confidence=0.95, expected_rate=0.2) == sample_size(
        500, margin=0.05, confidence=0.95, expected_rate=0.8
    )


@given(
    population=st.integers(min_value=0, max_value=10**6),
    margin=st.floats(min_value=0.005, max_value=0.5),
    expected_rate=st.floats(min_value=0.01, max_value=0.99),
)
def test_sample_size_never_exceeds_the_population(
    population: int, margin: float, expected_rate: float
) -> None:
    n = sample_size(population, margin=margin, confidence=0.95, expected_rate=expected_rate)
    assert 0 <= n <= population
    assert (n > 0) == (population > 0)


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"population": -1}, "population"),
        ({"margin": 0.0}, "margin"),
        ({"margin": 1.0}, "margin"),
        ({"margin": 1e-200}, "margin"),  # its square is 0: ZeroDivisionError
        ({"margin": 1e-160}, "margin"),  # its square is subnormal: inf / inf = NaN
        ({"margin": 0.0000999}, "margin"),
        ({"margin": math.nan}, "margin"),
        ({"expected_rate": 0.0}, "expected_rate"),
        ({"expected_rate": 1.0}, "expected_rate"),
        ({"confidence": 1.0}, "confidence"),
    ],
)
def test_sample_size_refuses_bad_arguments(kwargs: dict[str, float], field: str) -> None:
    args: dict[str, float] = {"population": 100, "margin": 0.05, "confidence": 0.95}
    args.update(kwargs)
    population = int(args.pop("population"))
    with pytest.raises(InvalidInput) as info:
        sample_size(population, **args)
    assert info.value.field == field


# --- allocation to strata ---------------------------------------------------------------------


def test_allocation_is_proportional() -> None:
    assert allocate_to_strata(10, {OWN: 50, AGENT: 30, ONLINE: 20}) == {
        OWN: 5,
        AGENT: 3,
        ONLINE: 2,
    }


def test_allocation_uses_largest_remainders_and_sees_every_channel() -> None:
    # quotas 3.5, 1.0, 0.5 -> floors 3, 1, 0; the one left goes to own (remainder tie, larger
    # stratum) -> 4, 1, 0; online is non-empty and n >= 3, so own gives it one -> 3, 1, 1.
    assert allocate_to_strata(5, {OWN: 7, AGENT: 2, ONLINE: 1}) == {OWN: 3, AGENT: 1, ONLINE: 1}


def test_allocation_below_the_number_of_strata_may_skip_one() -> None:
    assert allocate_to_strata(2, {OWN: 5, AGENT: 5, ONLINE: 5}) == {OWN: 1, AGENT: 1, ONLINE: 0}


def test_allocation_refuses_more_than_the_outlets() -> None:
    with pytest.raises(InvalidInput):
        allocate_to_strata(4, {OWN: 2, AGENT: 1})


sizes_strategy = st.dictionaries(
    st.sampled_from(list(OutletKind)), st.integers(min_value=0, max_value=500), min_size=1
)


@given(sizes=sizes_strategy, data=st.data())
def test_allocation_sums_to_n_within_stratum_sizes(
    sizes: dict[OutletKind, int], data: st.DataObject
) -> None:
    n = data.draw(st.integers(min_value=0, max_value=sum(sizes.values())))
    allocation = allocate_to_strata(n, sizes)
    assert set(allocation) == set(sizes)
    assert sum(allocation.values()) == n
    assert all(0 <= allocation[kind] <= sizes[kind] for kind in sizes)
    non_empty = [kind for kind in sizes if sizes[kind] > 0]
    if n >= len(non_empty):
        assert all(allocation[kind] >= 1 for kind in non_empty)


# --- plans ------------------------------------------------------------------------------------


def make_outlets(enterprise_code: str, own: int, agent: int, online: int) -> list[OutletRef]:
    outlets: list[OutletRef] = []
    for kind, count in ((OWN, own), (AGENT, agent), (ONLINE, online)):
        outlets.extend(
            OutletRef(f"{enterprise_code}-{kind.value}-{i:03d}", enterprise_code, kind, "110101")
            for i in range(count)
        )
    return outlets


MARKET = (
    make_outlets("E01", 10, 80, 19)  # 109 outlets
    + make_outlets("E02", 30, 150, 6)  # 186 outlets
    + make_outlets("E03", 3, 8, 1)  # 12 outlets
)


def plan(
    seed: int = 7,
    previous_rates: dict[str, float] | None = None,
    floor_rate: float = 0.05,
    period: Period = ROUND,
) -> list[PlannedInspection]:
    return plan_inspections(
        MARKET,
        margin=0.05,
        confidence=0.95,
        seed=seed,
        period=period,
        previous_rates=previous_rates,
        floor_rate=floor_rate,
    )


def per_enterprise(planned: list[PlannedInspection]) -> Counter[str]:
    return Counter(item.enterprise_code for item in planned)


def test_one_seed_gives_one_plan() -> None:
    assert plan(seed=7) == plan(seed=7)


def test_another_seed_draws_other_outlets() -> None:
    first = [item.outlet_code for item in plan(seed=7)]
    second = [item.outlet_code for item in plan(seed=8)]
    assert len(first) == len(second)
    assert first != second


def test_input_order_does_not_matter() -> None:
    shuffled = list(MARKET)
    random.Random(1).shuffle(shuffled)
    assert plan_inspections(shuffled, margin=0.05, confidence=0.95, seed=7, period=ROUND) == plan(
        seed=7
    )


def test_an_enterprise_plan_does_not_depend_on_the_others() -> None:
    alone = plan_inspections(
        make_outlets("E03", 3, 8, 1), margin=0.05, confidence=0.95, seed=7, period=ROUND
    )
    assert alone == [item for item in plan(seed=7) if item.enterprise_code == "E03"]


def test_plan_sizes_and_strata_follow_the_formula() -> None:
    planned = plan()
    assert per_enterprise(planned) == {"E01": 86, "E02": 126, "E03": 12}
    strata = Counter((item.enterprise_code, item.kind) for item in planned)
    for code, sizes in {"E01": (10, 80, 19), "E02": (30, 150, 6), "E03": (3, 8, 1)}.items():
        stratum_sizes = dict(zip((OWN, AGENT, ONLINE), sizes, strict=True))
        expected = allocate_to_strata(per_enterprise(planned)[code], stratum_sizes)
        assert {kind: strata[(code, kind)] for kind in stratum_sizes} == expected
    # E01: 86 over 10/80/19 -> quotas 7.89, 63.12, 14.99 -> 7, 63, 14 + 2 left -> 8, 63, 15
    assert [strata[("E01", kind)] for kind in (OWN, AGENT, ONLINE)] == [8, 63, 15]


def test_plan_visits_real_outlets_once_each() -> None:
    planned = plan()
    known = {outlet.outlet_code: outlet for outlet in MARKET}
    assert len({item.outlet_code for item in planned}) == len(planned)
    for item in planned:
        outlet = known[item.outlet_code]
        assert (outlet.enterprise_code, outlet.kind, outlet.region_code) == (
            item.enterprise_code,
            item.kind,
            item.region_code,
        )


def test_inspection_ids_are_stable_and_unique() -> None:
    planned = plan(seed=7)
    ids = [item.inspection_id for item in planned]
    assert len(set(ids)) == len(ids)
    assert ids[0] == "P7-2016-11-E01-0001"
    assert ids[85] == "P7-2016-11-E01-0086"
    assert ids[86] == "P7-2016-11-E02-0001"


def test_each_round_draws_afresh_under_ids_of_its_own() -> None:
    """The next round's plan with the same seed used to be the last one again, ids and all,
    so importing its results quarantined every row as a conflict."""
    july, november = plan(seed=0, period=parse_period("2016-07")), plan(seed=0)
    assert per_enterprise(july) == per_enterprise(november)
    assert [i.outlet_code for i in july] != [i.outlet_code for i in november]
    assert not {i.inspection_id for i in july} & {i.inspection_id for i in november}
    assert plan(seed=0) == november, "one seed and one period give one plan"


def test_worse_last_round_means_more_inspections() -> None:
    same_shape = {code: make_outlets(code, 10, 80, 19) for code in ("E1", "E2", "E3", "E4", "E5")}
    outlets = [outlet for group in same_shape.values() for outlet in group]
    previous = {"E1": 0.339, "E2": 0.118, "E3": 0.0, "E4": 0.9}  # E5 never inspected
    planned = plan_inspections(
        outlets, margin=0.05, confidence=0.95, seed=3, period=ROUND, previous_rates=previous
    )
    # p = 0.339 -> 83, 0.118 -> 66, 0.0 -> floor 0.05 -> 44, 0.9 -> capped 0.5 -> 86,
    # unknown -> 0.5 -> 86 (the hand-computed sizes above, N = 109).
    assert per_enterprise(planned) == {"E1": 83, "E2": 66, "E3": 44, "E4": 86, "E5": 86}


def test_outlet_kind_may_arrive_as_text() -> None:
    outlet = OutletRef("O1", "E01", "agent", "110101")  # type: ignore[arg-type]
    assert outlet.kind is OutletKind.AGENT
    with pytest.raises(InvalidInput) as info:
        OutletRef("O2", "E01", "kiosk", "110101")  # type: ignore[arg-type]
    assert info.value.field == "kind"


def test_plan_refuses_bad_input() -> None:
    with pytest.raises(InvalidInput):
        plan_inspections(MARKET + MARKET[:1], margin=0.05, confidence=0.95, seed=1, period=ROUND)
    with pytest.raises(InvalidInput):
        plan(floor_rate=0.0)
    with pytest.raises(InvalidInput):
        plan(previous_rates={"E01": 1.5})


def test_no_outlets_no_plan() -> None:
    assert plan_inspections([], margin=0.05, confidence=0.95, seed=1, period=ROUND) == []
    with pytest.raises(InvalidInput) as refused:
        plan_inspections([], margin=1e-200, confidence=0.95, seed=1, period=ROUND)
    assert refused.value.field == "margin"


# --- the plan file ----------------------------------------------------------------------------


def test_plan_file_has_the_inspection_contract_columns(tmp_path: Path) -> None:
    planned = plan()
    path = tmp_path / "plans" / "2016-11.csv"
    write_plan_csv(planned, path)
    with path.open(encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        assert tuple(reader.fieldnames or ()) == PLAN_COLUMNS
        rows = list(reader)
    contract = {"inspection_id", "enterprise_code", "outlet_code", "inspected_on", "outcome"}
    assert contract | {"violations"} <= set(PLAN_COLUMNS)
    assert len(rows) == len(planned)
    first = rows[0]
    assert first["inspection_id"] == planned[0].inspection_id
    assert first["outlet_code"] == planned[0].outlet_code
    assert first["kind"] == planned[0].kind.value
    assert all(row["inspected_on"] == row["outcome"] == row["violations"] == "" for row in rows)


def test_a_missing_region_is_an_empty_cell(tmp_path: Path) -> None:
    outlets = [OutletRef("O1", "E01", OWN, None), OutletRef("O2", "E01", ONLINE, "310101")]
    planned = plan_inspections(outlets, margin=0.05, confidence=0.95, seed=1, period=ROUND)
    write_plan_csv(planned, tmp_path / "plan.csv")
    with (tmp_path / "plan.csv").open(encoding="utf-8", newline="") as handle:
        regions = [row["region_code"] for row in csv.DictReader(handle)]
    assert regions == ["", "310101"]


def test_plan_file_that_cannot_be_written(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("x", encoding="utf-8")
    with pytest.raises(DataFileError):
        write_plan_csv(plan(), blocker / "plan.csv")
