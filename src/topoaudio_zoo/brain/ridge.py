"""Ridge regression for many targets at once, the penalty chosen by exact leave-one-out.

One singular value decomposition of the standardised training features serves every target
and every penalty (with more features than sounds it is read off the eigendecomposition of the
``n × n`` Gram matrix, the cheap way to decompose a wide matrix). With ``Xs = U diag(s) Vᵀ``
(training features demeaned and divided by their training standard deviation) and an
unpenalised intercept, the hat matrix of penalty ``α`` is
``H = 11ᵀ/n + U diag(s²/(s²+α)) Uᵀ``, so for every target ``y`` the leave-one-out residuals are
``(y − ŷ)ᵢ / (1 − Hᵢᵢ)`` exactly (the formula of scikit-learn's ``RidgeCV``, which this equals
to 1e-6, see the tests). The penalties are relative to the feature scale: ``α = c · ‖Xs‖²_F / n``
for ``c`` in :data:`RELATIVE_ALPHAS`, i.e. multiples of the mean eigenvalue of the training
Gram matrix, so no penalty is vanishingly small next to the features (the pitfall of the
reference grid 10⁻⁵⁰ … 10⁴⁹ on raw features, where the leave-one-out error becomes 0/0).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["RELATIVE_ALPHAS", "RidgeFit", "check_finite", "ridge_loo", "standardize"]

RELATIVE_ALPHAS = np.logspace(-4, 6, 21)


def check_finite(array: np.ndarray, name: str) -> None:
    """Raise ValueError naming ``name`` and the first bad row when ``array`` holds NaN/inf."""
    bad = ~np.isfinite(array)
    if bad.any():
        first = tuple(int(i) for i in np.argwhere(bad)[0])
        raise ValueError(
            f"{name}: {int(bad.sum())} NaN or infinite values (first at index {first})"
        )


def standardize(train: np.ndarray, test: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Demean and scale columns by the training mean and standard deviation (``ddof=0``).

    Columns constant on the training sounds (standard deviation at most 1e-10 of their largest
    magnitude) are dropped instead of divided by zero.

    Args:
        train: ``(n_train, features)``.
        test: ``(n_test, features)``.

    Returns:
        ``(train_std, test_std, kept)``: float64 ``(n_train, k)``, ``(n_test, k)`` and the
        boolean mask ``(features,)`` of the ``k`` kept columns.
    """
    train = np.asarray(train, dtype=np.float64)
    test = np.asarray(test, dtype=np.float64)
    mean = train.mean(axis=0)
    std = train.std(axis=0)
    kept = std > 1e-10 * np.abs(train).max(axis=0)
    mean, std = mean[kept], std[kept]
    return (train[:, kept] - mean) / std, (test[:, kept] - mean) / std, kept


def _svd(xs_train: np.ndarray, xs_test: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``U``, ``s`` of ``Xs = U diag(s) Vᵀ`` (rank-truncated) and the test scores ``Xtest V``.

    With more features than sounds the decomposition comes from the eigendecomposition of the
    ``n × n`` Gram matrix ``Xs Xsᵀ = U diag(s²) Uᵀ`` (``V = Xsᵀ U / s`` is never formed), which
    costs one matrix product instead of a LAPACK SVD of the wide matrix.
    """
    n, p = xs_train.shape
    if p > n:
        eigenvalues, eigenvectors = np.linalg.eigh(xs_train @ xs_train.T)
        order = np.argsort(eigenvalues)[::-1]
        s2, u = np.clip(eigenvalues[order], 0.0, None), eigenvectors[:, order]
        s = np.sqrt(s2)
        keep = s2 > s2[0] * n * p * np.finfo(np.float64).eps
        u, s = u[:, keep], s[keep]
        return u, s, (xs_test @ xs_train.T) @ u / s
    u, s, vt = np.linalg.svd(xs_train, full_matrices=False)
    keep = s > s[0] * max(n, p) * np.finfo(np.float64).eps
    return u[:, keep], s[keep], xs_test @ vt[keep].T


@dataclass(frozen=True)
class RidgeFit:
    """The result of :func:`ridge_loo` for ``t`` targets.

    Attributes:
        predictions: ``(n_test, t)`` predicted test responses.
        alphas: ``(t,)`` the penalty chosen for each target (absolute, on standardised
            features).
        loo_mse: ``(n_alphas, t)`` mean squared leave-one-out error of every penalty.
        grid: ``(n_alphas,)`` the absolute penalties tried.
        n_features: features kept (non-constant on the training sounds).
    """

    predictions: np.ndarray
    alphas: np.ndarray
    loo_mse: np.ndarray
    grid: np.ndarray
    n_features: int


def ridge_loo(
    x_train: np.ndarray,
    y_train: np.ndarray,
    x_test: np.ndarray,
    relative_alphas: np.ndarray = RELATIVE_ALPHAS,
) -> RidgeFit:
    """Fit ridge regressions of every target column on the features; predict the test sounds.

    Features are standardised with training statistics (:func:`standardize`), targets demeaned
    with their training means (the intercept is not penalised). Each target gets the penalty of
    lowest mean squared leave-one-out error on the training sounds (the first on ties, in grid
    order), computed from one SVD.

    Args:
        x_train: ``(n_train, features)`` training features.
        y_train: ``(n_train, targets)`` (or ``(n_train,)``) training responses.
        x_test: ``(n_test, features)`` test features.
        relative_alphas: ``(n_alphas,)`` penalties as multiples of ``‖Xs‖²_F / n_train``.

    Returns:
        :class:`RidgeFit`.

    Raises:
        ValueError: NaN or infinite values, mismatched shapes, fewer than 3 training sounds,
            no non-constant feature, or a non-positive penalty.
    """
    y_train = np.asarray(y_train, dtype=np.float64)
    if y_train.ndim == 1:
        y_train = y_train[:, None]
    x_train, x_test = np.asarray(x_train), np.asarray(x_test)
    relative_alphas = np.asarray(relative_alphas, dtype=np.float64)
    if x_train.ndim != 2 or x_test.ndim != 2 or x_train.shape[1] != x_test.shape[1]:
        raise ValueError(
            f"features: expected (n_train, f) and (n_test, f), got {x_train.shape} and "
            f"{x_test.shape}"
        )
    if y_train.ndim != 2 or len(y_train) != len(x_train):
        raise ValueError(
            f"targets: expected ({len(x_train)} training sounds, targets), got {y_train.shape}"
        )
    if len(x_train) < 3:
        raise ValueError(f"features: need at least 3 training sounds, got {len(x_train)}")
    if relative_alphas.ndim != 1 or not len(relative_alphas) or (relative_alphas <= 0).any():
        raise ValueError(f"relative_alphas: expected positive penalties, got {relative_alphas}")
    check_finite(x_train, "training features")
    check_finite(x_test, "test features")
    check_finite(y_train, "training targets")
    xs_train, xs_test, kept = standardize(x_train, x_test)
    n = len(xs_train)
    if not kept.any():
        raise ValueError("features: every feature is constant on the training sounds")
    u, s, test_scores = _svd(xs_train, xs_test)
    grid = relative_alphas * float((s**2).sum()) / n
    y_mean = y_train.mean(axis=0)
    y_centred = y_train - y_mean
    uty = u.T @ y_centred  # (rank, targets)
    # Leverage left outside the features' span: 1 - 1/n - Σ_k U_ik² (0 when rank = n - 1).
    free_leverage = np.clip(1.0 - 1.0 / n - (u**2).sum(axis=1), 0.0, None)
    # The part of y no feature direction reaches (none when the features span every sound).
    outside = y_centred - u @ uty if len(s) < n - 1 else None
    s2 = s**2
    loo_mse = np.empty((len(grid), y_train.shape[1]))
    for i, alpha in enumerate(grid):
        shrink = alpha / (s2 + alpha)  # 1 - s²/(s²+α): residual = y_out + U diag(shrink) Uᵀy
        one_minus_h = free_leverage + (u**2) @ shrink
        # Leave-one-out residuals (y - ŷ)_i / (1 - H_ii) in one product, 1/(1 - H_ii) and the
        # shrinkage folded into the small factor U.
        loo = (u * shrink / one_minus_h[:, None]) @ uty
        if outside is not None:
            loo += outside / one_minus_h[:, None]
        loo_mse[i] = np.einsum("ij,ij->j", loo, loo) / n
    best = np.argmin(loo_mse, axis=0)
    alphas = grid[best]
    coef_rotated = uty * (s[:, None] / (s2[:, None] + alphas[None, :]))
    predictions = test_scores @ coef_rotated + y_mean
    return RidgeFit(
        predictions=predictions,
        alphas=alphas,
        loo_mse=loo_mse,
        grid=grid,
        n_features=int(kept.sum()),
    )
