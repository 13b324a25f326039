r"""A Gaussian surrogate of a pair's tweet features: the four groups' joint moments on the pool.

For a weak/strong pair, every pool tweet has a joint feature vector :math:`x = (x_w, x_s)`
(each view standardised with the pool's statistics, as the deep path's heads see it). Per group
``g = 2 y + a`` the pool gives

.. math:: \mu_g = \frac1{m_g}\sum_{i\in g}x_i,\qquad
          \Sigma_g = \frac1{m_g}\sum_{i\in g}(x_i - \mu_g)(x_i - \mu_g)^\top

(``ddof = 0``: the moments of the pool's own empirical group distribution, from which the deep
path draws its sets). The test split plays no part. The surrogate is the mixture
:math:`x\mid g\sim N(\mu_g, \Sigma_g)` with the label :math:`2y - 1` of the group: the same heads run
on features drawn from it (:meth:`Surrogate.sample`), and a linear predictor's risk under it is
exact (:meth:`Surrogate.risks`). :meth:`GroupMoments.mixture_arrays` gives the arguments of
:class:`asymptotics.GroupMixture` (each view with the constant coordinate 1 appended: mean 1,
variance 0), so theory and surrogate read the same moments. The moments are cached on disk
beside the features (``moments-SIZE-WEAK-STRONG-KEY.npz``; KEY hashes the two feature files'
content keys and this recipe), estimated once.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import os

import jax
import numpy as np
from scipy import special

from ._data import _rng

__all__ = ["GroupMoments", "Surrogate", "gaussianity", "pool_moments", "surrogate"]

LABEL_MEAN = np.array([-1.0, -1.0, 1.0, 1.0])  # 2 y - 1 of group g = 2 y + a
RECIPE = {"standardise": "pool mean and std (+1e-6), float32", "moments": "per group, pool only, ddof 0", "v": 1}


@dataclasses.dataclass(frozen=True, eq=False)
class GroupMoments:
    """Per group ``g = 2 y + a`` the mean and covariance of a pair's joint standardised features on the pool.

    Attributes:
        pair: ``(weak, strong)`` encoder names; size: the tweet set.
        d_weak: the weak view's dimension (the first ``d_weak`` coordinates of the joint vector).
        mean: ``(4, D)`` group means, ``D = d_weak + d_strong``.
        cov: ``(4, D, D)`` group covariances (``ddof = 0``).
        count: ``(4,)`` pool tweets per group.
    """

    pair: tuple[str, str]
    size: str
    d_weak: int
    mean: np.ndarray
    cov: np.ndarray
    count: np.ndarray

    def mixture_arrays(self) -> dict[str, np.ndarray]:
        """Keyword arguments of :class:`asymptotics.GroupMixture`: each view with the constant 1
        appended (mean 1, variance 0, no covariance), and ``label_mean`` ``2 y - 1``."""
        w, s = slice(0, self.d_weak), slice(self.d_weak, None)
        K = self.mean.shape[0]

        def pad_mean(m):
            return np.concatenate([m, np.ones((K, 1))], axis=1)

        def pad_cov(C):
            return np.pad(C, ((0, 0), (0, 1), (0, 1)))

        return {
            "means_weak": pad_mean(self.mean[:, w]),
            "means_strong": pad_mean(self.mean[:, s]),
            "cov_weak": pad_cov(self.cov[:, w, w]),
            "cov_strong": pad_cov(self.cov[:, s, s]),
            "cov_cross": pad_cov(self.cov[:, w, s]),
            "label_mean": LABEL_MEAN.copy(),
        }

    def risks(self, theta: np.ndarray, view: str) -> tuple[np.ndarray, np.ndarray]:
        r"""Exact per-group risks of the predictor :math:`\theta^\top(x_v, 1)` on view ``"weak"`` or
        ``"strong"``: mean squared error :math:`(c_g - \theta^\top\bar\mu_g)^2 + \theta^\top\Sigma_g\theta`
        against :math:`c_g = 2y - 1` and accuracy :math:`\Phi(c_g\theta^\top\bar\mu_g/\sqrt{\theta^\top
        \Sigma_g\theta})` of its sign. Returns ``(mse (4,), acc (4,))``.

        The mean squared error of a fixed predictor depends on the features only through these two
        moments, so it is also the predictor's mean squared error on the pool itself, group by group."""
        d = self.d_weak
        v = slice(0, d) if view == "weak" else slice(d, None)
        w, b = np.asarray(theta[:-1], np.float64), float(theta[-1])
        mean = self.mean[:, v] @ w + b
        var = np.maximum(np.einsum("i,kij,j->k", w, self.cov[:, v, v], w), 0.0)
        mse = (LABEL_MEAN - mean) ** 2 + var
        with np.errstate(divide="ignore", invalid="ignore"):
            z = np.where(
                var > 0, LABEL_MEAN * mean / np.sqrt(np.where(var > 0, var, 1.0)), np.inf * np.sign(LABEL_MEAN * mean)
            )
        return mse, special.ndtr(z)


def _pool_features(pair: tuple[str, str], size: str) -> tuple[np.ndarray, np.ndarray, int]:
    """``(pool joint features (m, D) float64, pool groups (m,), d_weak)``."""
    from ._pipeline import _bench

    bench = _bench("tweets", size)
    pool = bench.pool_split()
    fw, fs = (np.asarray(bench.features(b)(pool), np.float64) for b in pair)
    return np.concatenate([fw, fs], axis=1), pool.group, fw.shape[1]


def _estimate(pair: tuple[str, str], size: str) -> GroupMoments:
    x, group, d_weak = _pool_features(pair, size)
    means, covs, counts = [], [], []
    for g in range(4):
        xg = x[group == g]
        mu = xg.mean(axis=0)
        c = xg - mu
        means.append(mu)
        covs.append(c.T @ c / xg.shape[0])
        counts.append(xg.shape[0])
    return GroupMoments(tuple(pair), size, d_weak, np.stack(means), np.stack(covs), np.array(counts))


def _moments_path(pair: tuple[str, str], size: str):
    from ._backbones import cache_dir
    from ._text_features import feature_path

    blob = json.dumps({"features": [feature_path(b, size).name for b in pair], "recipe": RECIPE}, sort_keys=True)
    key = hashlib.sha256(blob.encode()).hexdigest()[:16]
    return cache_dir() / f"moments-{size}-{pair[0]}-{pair[1]}-{key}.npz"


@functools.lru_cache(maxsize=4)
def pool_moments(weak: str, strong: str, size: str = "full") -> GroupMoments:
    """The group moments of the pair ``(weak, strong)`` on the pool of the tweet set ``size``
    (estimated once, cached on disk; the test split plays no part)."""
    pair = (weak, strong)
    path = _moments_path(pair, size)
    if path.exists():
        with np.load(path) as z:
            return GroupMoments(pair, size, int(z["d_weak"]), z["mean"], z["cov"], z["count"])
    m = _estimate(pair, size)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f"{path.stem}.{os.getpid()}.tmp.npz")
    np.savez(tmp, d_weak=m.d_weak, mean=m.mean, cov=m.cov, count=m.count)
    tmp.replace(path)
    return m


@dataclasses.dataclass(frozen=True, eq=False)
class Surrogate:
    r"""The Gaussian group mixture :math:`x\mid g\sim N(\mu_g, \Sigma_g)` of :class:`GroupMoments`.

    ``root[g]`` ``(r_g, D)`` is the triangular factor :math:`A_g` of the QR decomposition of the group's
    centred pool rows over :math:`\sqrt{m_g}` (``r_g = min(m_g, D)``), an exact square root
    :math:`\Sigma_g = A_g^\top A_g` (no decomposition of a singular covariance, no jitter), so a draw is
    :math:`\mu_g + A_g^\top z`, :math:`z\sim N(0, I_{r_g})`."""

    moments: GroupMoments
    root: tuple[np.ndarray, ...]

    def sample(self, key: jax.Array, counts: dict[int, int]) -> tuple[np.ndarray, np.ndarray]:
        """``counts[g]`` joint feature vectors of each group ``g``: ``(x (m, D) float64, group (m,))``."""
        rng = _rng(key)
        xs, gs = [], []
        for g in range(4):
            k = counts.get(g, 0)
            z = rng.standard_normal((k, self.root[g].shape[0]))
            xs.append(self.moments.mean[g] + z @ self.root[g])
            gs.append(np.full(k, g, np.int32))
        return np.concatenate(xs), np.concatenate(gs)

    def risks(self, theta: np.ndarray, view: str) -> tuple[np.ndarray, np.ndarray]:
        """Exact per-group risks under the mixture: :meth:`GroupMoments.risks`."""
        return self.moments.risks(theta, view)


@functools.lru_cache(maxsize=4)
def surrogate(weak: str, strong: str, size: str = "full") -> Surrogate:
    """The :class:`Surrogate` of the pair's :func:`pool_moments`."""
    m = pool_moments(weak, strong, size)
    x, group, _ = _pool_features((weak, strong), size)
    roots = []
    for g in range(4):
        xg = x[group == g]
        roots.append(np.linalg.qr((xg - m.mean[g]) / np.sqrt(xg.shape[0]), mode="r"))
    return Surrogate(m, tuple(roots))


def _excess_kurtosis(p: np.ndarray) -> np.ndarray:
    """Excess kurtosis of each column of ``p`` (0 for a Gaussian)."""
    c = p - p.mean(axis=0)
    v = (c**2).mean(axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(v > 0, (c**4).mean(axis=0) / np.where(v > 0, v, 1.0) ** 2 - 3.0, np.nan)


def gaussianity(weak: str, strong: str, size: str = "full", *, directions: int = 64) -> dict[str, np.ndarray]:
    """How far each group's pool features are from Gaussian, per view: excess kurtosis (0 for a
    Gaussian; its sampling s.e. is about ``sqrt(24 / m_g)``) of one-dimensional projections.

    Returns per view (``"weak"``, ``"strong"``) ``(4,)`` arrays: ``{view}_coord_median``, the median
    over coordinates of each coordinate's excess kurtosis; ``{view}_pc1``, along the group's top
    principal component; ``{view}_random``, the mean over ``directions`` uniformly random unit
    directions (pinned: ``jax.random.key(0)``, so the table is reproducible); and ``count``."""
    from threadpoolctl import threadpool_limits

    with threadpool_limits(1, user_api="blas"):  # see ridge_curves: small products, a shared machine
        return _gaussianity(weak, strong, size, directions)


def _gaussianity(weak: str, strong: str, size: str, directions: int) -> dict[str, np.ndarray]:
    x, group, d_weak = _pool_features((weak, strong), size)
    out = {"count": np.array([(group == g).sum() for g in range(4)])}
    rng = _rng(jax.random.key(0))  # pinned: a fixed set of directions, the same for every run
    for view, v in (("weak", slice(0, d_weak)), ("strong", slice(d_weak, None))):
        d = x[:, v].shape[1]
        dirs = rng.standard_normal((d, directions))
        dirs /= np.linalg.norm(dirs, axis=0)
        med, pc1, rnd = [], [], []
        for g in range(4):
            xg = x[group == g][:, v]
            med.append(float(np.nanmedian(_excess_kurtosis(xg))))
            c = xg - xg.mean(axis=0)
            _, _, vt = np.linalg.svd(c, full_matrices=False)
            pc1.append(float(_excess_kurtosis(c @ vt[0][:, None])[0]))
            rnd.append(float(np.mean(_excess_kurtosis(c @ dirs))))
        out[f"{view}_coord_median"], out[f"{view}_pc1"], out[f"{view}_random"] = map(np.array, (med, pc1, rnd))
    return out
