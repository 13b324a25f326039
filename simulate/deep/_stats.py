r"""Seed statistics of the deep path: mean, standard error, t statistic and two-sided p-value.

With ``k`` seeds :math:`x_1..x_k` (one per independent draw of data, heads and test set),
:math:`\bar x`, :math:`s = \mathrm{sd}(x)` (ddof 1), :math:`\mathrm{se} = s/\sqrt k`,
:math:`t = \bar x / \mathrm{se}` and :math:`p = 2\,P(T_{k-1} > |t|)` with :math:`T_{k-1}`
Student's t with ``k - 1`` degrees of freedom: the one-sample t test of "mean 0". A fitted
coefficient is tested the same way, fitted once per seed (the seeds are the replicates).
"""

from __future__ import annotations

import numpy as np

__all__ = ["polyfit_per_seed", "t_test"]


def t_test(x, axis: int = -1) -> dict[str, np.ndarray]:
    """Mean, s.e., t and two-sided p-value of "mean = 0" over ``axis`` (the seeds).

    Returns ``{"mean", "se", "t", "p_value", "k"}`` (arrays of ``x``'s shape without ``axis``);
    with fewer than two seeds, or zero spread, ``se`` is 0 and ``t``, ``p_value`` are NaN
    (no test is possible), never a spurious 0 or 1.
    """
    from scipy import stats

    x = np.moveaxis(np.asarray(x, np.float64), axis, -1)
    k = x.shape[-1]
    mean = x.mean(axis=-1)
    if k < 2:
        nan = np.full(mean.shape, np.nan)
        return {"mean": mean, "se": np.zeros(mean.shape), "t": nan, "p_value": nan, "k": k}
    se = x.std(axis=-1, ddof=1) / np.sqrt(k)
    with np.errstate(divide="ignore", invalid="ignore"):
        t = np.where(se > 0, mean / np.where(se > 0, se, 1.0), np.nan)
    p = np.where(np.isfinite(t), 2.0 * stats.t.sf(np.abs(np.nan_to_num(t)), k - 1), np.nan)
    return {"mean": mean, "se": se, "t": t, "p_value": p, "k": k}


def polyfit_per_seed(x: np.ndarray, y: np.ndarray, degree: int) -> np.ndarray:
    r"""Least-squares polynomial :math:`y = \sum_j c_j x^j` fitted separately per seed.

    Args:
        x: ``(u,)`` abscissae.
        y: ``(u, k)`` values, one column per seed.
        degree: 1 (line) or 2 (quadratic).

    Returns:
        ``(k, degree + 1)`` coefficients ``c_0 .. c_degree`` per seed (feed a column to
        :func:`t_test` with ``axis=0``).
    """
    x = np.asarray(x, np.float64)
    X = np.stack([x**j for j in range(degree + 1)], axis=1)
    coef, *_ = np.linalg.lstsq(X, np.asarray(y, np.float64), rcond=None)
    return coef.T
