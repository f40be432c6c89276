"""Ridge with exact leave-one-out from one SVD, and the Tuckute et al. (2023) protocol."""

import numpy as np
import pytest
from sklearn.linear_model import RidgeCV

from topoaudio_zoo.brain.protocol import (
    RV_FLOOR,
    aggregate,
    best_layer,
    make_splits,
    score_layer,
    spearman_brown,
)
from topoaudio_zoo.brain.ridge import ridge_loo, standardize


def _data(n_train, n_test, n_features, n_targets, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n_train + n_test, n_features)) * rng.uniform(0.1, 10, n_features)
    x[:, 3] = 5.0  # constant: dropped
    weights = rng.standard_normal((n_features, n_targets)) * rng.uniform(0, 1, n_targets)
    noise = rng.standard_normal((n_train + n_test, n_targets)) * rng.uniform(0.1, 40, n_targets)
    y = x @ weights + noise + rng.standard_normal(n_targets) * 3
    return x[:n_train], y[:n_train], x[n_train:], y[n_train:]


@pytest.mark.parametrize(("n_train", "n_features"), [(83, 300), (83, 40), (25, 25)])
def test_penalties_and_predictions_equal_sklearn_ridgecv(n_train, n_features):
    x_train, y_train, x_test, _ = _data(n_train, 30, n_features, 12)
    fit = ridge_loo(x_train, y_train, x_test)
    xs_train, xs_test, kept = standardize(x_train, x_test)
    assert kept.sum() == n_features - 1 == fit.n_features
    reference = RidgeCV(alphas=fit.grid, alpha_per_target=True).fit(xs_train, y_train)
    np.testing.assert_allclose(fit.alphas, reference.alpha_, rtol=1e-6)
    assert len(set(fit.alphas)) >= 3  # the targets chose different penalties
    expected = reference.predict(xs_test)
    np.testing.assert_allclose(fit.predictions, expected, atol=1e-6 * np.abs(expected).max())


def test_zero_variance_columns_are_dropped_not_divided_by_zero():
    x_train, y_train, x_test, _ = _data(40, 10, 30, 3)
    x_train[:, 7] = 0.0
    with np.errstate(all="raise"):
        fit = ridge_loo(x_train, y_train, x_test)
    reduced = ridge_loo(np.delete(x_train, [3, 7], 1), y_train, np.delete(x_test, [3, 7], 1))
    assert fit.n_features == 28
    np.testing.assert_allclose(fit.predictions, reduced.predictions)


def test_nan_in_features_or_targets_is_named():
    x_train, y_train, x_test, _ = _data(40, 10, 30, 3)
    x_train[5, 2] = np.nan
    with pytest.raises(ValueError, match=r"training features.*\(5, 2\)"):
        ridge_loo(x_train, y_train, x_test)
    x_train[5, 2] = 0
    y_train[1, 1] = np.nan
    with pytest.raises(ValueError, match="training targets"):
        ridge_loo(x_train, y_train, x_test)
    features = np.zeros((165, 4))
    features[9, 0] = np.nan
    with pytest.raises(ValueError, match="layer4"):
        score_layer(features, np.ones((165, 2)), make_splits(165), name="layer4")


def test_splits_are_seeded_disjoint_83_82():
    splits = make_splits(165)
    assert len(splits) == 10
    for train, test in splits:
        assert len(train) == 83 and len(test) == 82 and not set(train) & set(test)
    again = make_splits(165)
    assert all((a[0] == b[0]).all() for a, b in zip(splits, again, strict=True))
    assert not (make_splits(165, seed=1)[0][0] == splits[0][0]).all()
    with pytest.raises(ValueError, match="do not fit"):
        make_splits(100)


def _planted(true_r2, n_features=20, n_targets=4, seed=0):
    """Targets with a linear signal explaining ``true_r2`` of their variance."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((165, n_features))
    signal = x @ rng.standard_normal((n_features, n_targets))
    signal /= signal.std(axis=0)
    noise = rng.standard_normal((165, n_targets))
    return x, np.sqrt(true_r2) * signal + np.sqrt(1 - true_r2) * noise


def test_planted_linear_signal_is_recovered():
    x, y = _planted(0.6)
    scores = score_layer(x, y, make_splits(165))
    assert np.abs(scores.median() - 0.6).max() < 0.12


def test_shuffled_targets_score_about_zero():
    x, y = _planted(0.6)
    shuffled = y[np.random.default_rng(5).permutation(165)]
    scores = score_layer(x, shuffled, make_splits(165))
    assert scores.median().max() < 0.05


def test_noise_correction_recovers_the_ceiling_of_noisy_repetitions():
    rng = np.random.default_rng(1)
    x = rng.standard_normal((165, 10))
    signal = x @ rng.standard_normal((10, 50))
    signal /= signal.std(axis=0)
    reps = signal[:, :, None] + rng.standard_normal((165, 50, 3)) * 1.2
    scores = score_layer(x, reps, make_splits(165))
    raw, corrected = np.median(scores.r2_raw, axis=1), scores.median()
    assert raw.mean() < 0.75  # the noise lowers the raw R² ...
    assert abs(np.median(corrected) - 1.0) < 0.15  # ... the correction restores the ceiling


def test_spearman_brown_with_floor():
    np.testing.assert_allclose(spearman_brown(np.array([0.5]), RV_FLOOR), [0.75])
    np.testing.assert_allclose(spearman_brown(np.array([0.01, np.nan]), RV_FLOOR), RV_FLOOR)


def test_best_layer_is_chosen_on_held_out_splits():
    x, y = _planted(0.5, n_targets=3)
    rng = np.random.default_rng(2)
    layers = {"noise": rng.standard_normal((165, 20)), "signal": x}
    splits = make_splits(165)
    scores = {name: score_layer(f, y, splits) for name, f in layers.items()}
    values, chosen = best_layer(scores)
    assert all(c == {"signal": 10} for c in chosen)
    assert np.abs(values - 0.5).max() < 0.15
    shuffled = y[rng.permutation(165)]
    null = {name: score_layer(f, shuffled, splits) for name, f in layers.items()}
    assert best_layer(null)[0].max() < 0.05


def test_aggregate_median_per_participant_then_mean_and_sem():
    values = np.array([0.1, 0.2, 0.9, 0.4, 0.6, 0.5])
    participants = np.array([0, 0, 0, 1, 1, 1])
    result = aggregate(values, participants)
    assert result["mean"] == pytest.approx(0.35)  # medians 0.2 and 0.5
    assert result["sem"] == pytest.approx(np.std([0.2, 0.5], ddof=1) / np.sqrt(2))
    assert result["participants"] == 2 and result["voxels"] == 6
