"""Seed-averaged LightGBM ensembles: mean of members, deterministic on the pool, text round trip."""

from __future__ import annotations

import numpy as np
import pytest

from mvnoguard.detection import sichuan_boosting as sb


@pytest.fixture(scope="module")
def training_sets() -> list[tuple[sb.FloatArray, sb.IntArray]]:
    rng = np.random.default_rng(3)
    sets = []
    for _ in range(2):
        labels = (rng.random(200) < 0.4).astype(np.int64)
        design = rng.normal(size=(200, 5)) + labels[:, None] * 0.8
        sets.append((design, labels))
    return sets


def test_members_get_distinct_seeds_and_member_zero_keeps_the_seed() -> None:
    seeds = sb.member_seeds(7, 3)
    assert seeds[0] == 7
    assert len(set(seeds)) == 3
    assert sb.text_names(1) == ("lightgbm",)  # a lone booster is stored as before ensembles


def test_ensemble_score_is_the_mean_of_its_members(
    training_sets: list[tuple[sb.FloatArray, sb.IntArray]],
) -> None:
    design, _ = training_sets[0]
    (ensemble,) = sb.fit_ensembles(training_sets[:1], seed=0, size=3)
    members = [np.asarray(b.predict(design), dtype=np.float64) for b in ensemble.boosters]
    np.testing.assert_allclose(ensemble.score(design), np.mean(members, axis=0), rtol=1e-12)
    assert not np.array_equal(members[0], members[1])  # seeds really differ


def test_pooled_fits_match_fits_one_at_a_time(
    training_sets: list[tuple[sb.FloatArray, sb.IntArray]],
) -> None:
    together = sb.fit_ensembles(training_sets, seed=5, size=2)
    apart = [sb.fit_ensembles([pair], seed=5, size=2)[0] for pair in training_sets]
    for pooled, alone in zip(together, apart, strict=True):
        assert pooled.texts() == alone.texts()


def test_texts_round_trip_exactly(
    training_sets: list[tuple[sb.FloatArray, sb.IntArray]],
) -> None:
    design, _ = training_sets[1]
    (ensemble,) = sb.fit_ensembles(training_sets[1:], seed=1, size=3)
    rebuilt = sb.BoosterEnsemble.from_texts(ensemble.texts(), ensemble.size)
    np.testing.assert_array_equal(rebuilt.score(design), ensemble.score(design))
    with pytest.raises(KeyError):
        sb.BoosterEnsemble.from_texts(ensemble.texts(), 4)
    with pytest.raises(ValueError):
        sb.BoosterEnsemble.from_texts(ensemble.texts(), 0)
