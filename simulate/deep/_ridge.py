r"""Ridge heads on frozen features: the theory's model class (squared loss on :math:`\pm1` labels).

Convention (shared with :func:`asymptotics.mixture_risks`): a view's design is its features with a
constant coordinate 1 appended (:func:`design`; no separate intercept, the constant is penalised
like any weight), and a ridge fit of targets :math:`t` on a design :math:`X` (``m`` rows) is

.. math:: \hat\theta = \arg\min_\theta \tfrac1m\|t - X\theta\|^2 + \lambda\|\theta\|^2
          = (X^\top X/m + \lambda I)^{-1}X^\top t/m = X^\top(XX^\top/m + \lambda I)^{-1}t/m,

solved in float64 in whichever form is smaller (:math:`\lambda = 0`: the min-norm least-squares
fit). W2S with ridge heads: a teacher on the weak design of the labeled set, fitted to
:math:`y\in\{-1, +1\}` (``2 y - 1``); a student on the strong design of the unlabeled set, fitted to
the teacher's real-valued predictions there; a ceiling on the same design fitted to the true
labels. Risks per group ``g = 2 y + a``: the mean squared error against the true :math:`\pm1` label
and the accuracy of the sign; at a test minority fraction :math:`\eta_t` they are averaged with the
group weights of :func:`test_weights`.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import jax
import numpy as np
import scipy.linalg

from ._data import group_counts

__all__ = ["Ridge", "design", "group_weights", "ridge_fit", "run_ridge", "test_weights", "group_risks", "signed"]


def design(features: np.ndarray) -> np.ndarray:
    """``(m, d)`` features -> ``(m, d + 1)`` float64 design: the features and a constant 1."""
    f = np.asarray(features, np.float64)
    return np.concatenate([f, np.ones((f.shape[0], 1))], axis=1)


def signed(y: np.ndarray) -> np.ndarray:
    """0/1 labels -> float64 :math:`\\pm1` labels (``2 y - 1``)."""
    return 2.0 * np.asarray(y, np.float64) - 1.0


@dataclasses.dataclass(frozen=True, eq=False)
class Ridge:
    """A ridge solver for one design ``X`` ``(m, d)`` and ridge ``lam >= 0``, factorised once, so
    that several target vectors (the student's, one per teacher) cost one triangular solve each.

    Primal form (the Cholesky factor of ``X^T X/m + lam I``) when ``m >= d``, dual form (``(X X^T/m + lam I)``)
    when ``m < d``; with ``lam = 0``, the min-norm least-squares fit through the pseudo-inverse."""

    X: np.ndarray
    lam: float
    factor: Any

    @classmethod
    def on(cls, X: np.ndarray, lam: float) -> Ridge:
        X = np.asarray(X, np.float64)
        if not (np.isfinite(lam) and lam >= 0):
            raise ValueError(f"ridge: must be a finite number >= 0, got {lam!r}")
        m, d = X.shape
        if lam == 0:
            return cls(X, 0.0, np.linalg.pinv(X))
        G = X.T @ X / m if m >= d else X @ X.T / m
        # NumPy's Cholesky: SciPy's cho_factor was ten times slower on the shared 2-core machine
        return cls(X, float(lam), np.linalg.cholesky(G + lam * np.eye(G.shape[0])))

    def fit(self, t: np.ndarray) -> np.ndarray:
        """Coefficients ``(d,)`` (or ``(d, k)`` for ``(m, k)`` targets) of the ridge fit of ``t``."""
        t = np.asarray(t, np.float64)
        if self.lam == 0:
            return self.factor @ t
        m, d = self.X.shape
        rhs = self.X.T @ t / m if m >= d else t / m
        L = self.factor
        sol = scipy.linalg.solve_triangular(L.T, scipy.linalg.solve_triangular(L, rhs, lower=True), lower=False)
        return sol if m >= d else self.X.T @ sol


def ridge_fit(X: np.ndarray, t: np.ndarray, lam: float) -> np.ndarray:
    r""":math:`\arg\min_\theta \frac1m\|t - X\theta\|^2 + \lambda\|\theta\|^2` (float64; see :class:`Ridge`)."""
    return Ridge.on(X, lam).fit(t)


def group_weights(m: int, eta: float) -> np.ndarray:
    """``(4,)`` group probabilities (``g = 2 y + a``) of a set of size ``m`` at minority fraction ``eta``
    exactly as the deep path draws it: :func:`simulate.deep.group_counts` ``/ m``."""
    c = group_counts(m, eta)
    return np.array([c[g] for g in range(4)], np.float64) / m


def test_weights(eta_t: float) -> np.ndarray:
    """``(4,)`` test group weights at minority fraction ``eta_t``: ``(1 - eta_t)/2`` for each majority
    group (0, 3) and ``eta_t/2`` for each minority group (1, 2), the weights of the average accuracy."""
    return np.array([1 - eta_t, eta_t, eta_t, 1 - eta_t], np.float64) / 2


def group_risks(pred: np.ndarray, y: np.ndarray, group: np.ndarray, weights: np.ndarray | None = None):
    """Per group ``g = 2 y + a``: mean squared error of ``pred`` against ``2 y - 1`` and accuracy of its
    sign (``pred > 0`` predicts ``y = 1``). ``weights`` ``(m,)`` counts each example that many times
    (a bootstrap draw). Returns ``(mse (4,), acc (4,))``, NaN for an absent group."""
    w = np.ones(len(y)) if weights is None else np.asarray(weights, np.float64)
    G = (np.asarray(group)[:, None] == np.arange(4)[None, :]) * w[:, None]
    total = G.sum(axis=0)
    err = (np.asarray(pred, np.float64) - signed(y)) ** 2
    right = ((np.asarray(pred) > 0) == (np.asarray(y) == 1)).astype(np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        safe = np.where(total > 0, total, 1.0)
        return np.where(total > 0, err @ G / safe, np.nan), np.where(total > 0, right @ G / safe, np.nan)


def run_ridge(config, *, key: jax.Array, with_probes: bool = True) -> dict[str, Any]:
    r"""One configuration of the deep path with ridge heads (:class:`simulate.deep.DeepConfig`).

    The sets are the classification path's (:func:`simulate.deep.run_w2s`, same ``key`` -> same
    sets and test draw): the teacher fits the labeled set ``(n - n_bal, eta_l)``, the student and
    the ceiling the unlabeled set ``(N, eta_u)``; the validation sets are drawn but not used. The
    ridge is ``config.l2`` for every head (the deep path's weight penalty).

    Returns the keys of :func:`simulate.deep.run_w2s` without the remedy: ``teacher``, ``w2s``,
    ``ceiling`` (each ``group_acc``, ``average``, ``worst_group``, and ``group_mse``, ``mse`` at
    ``config.eta_t``), ``gain`` and ``pgr`` (``average``, ``worst_group``; ``gain`` also ``mse``,
    teacher minus student, positive when the student is better), ``pseudolabels`` (the sign
    accuracy of the teacher's predictions on the unlabeled set), ``heads``, ``ridge``,
    ``test_draw`` and, with ``with_probes``, ``probes``.
    """
    from ._pipeline import _bench, _bootstrap_weights, _ratio, _scores, probes

    bench = _bench(config.dataset, config.size)
    weak, strong = config.backbones
    fw, fs = bench.features(weak), bench.features(strong)
    k_data, _, _, _, _, k_test = jax.random.split(key, 6)  # the classification path's split of the key
    unl, _, lab, _ = bench.draw(k_data, config)
    test = bench.test_split()
    tw = _bootstrap_weights(k_test, test.group) if config.resample_test else None
    lam = float(config.l2)
    theta_t = ridge_fit(design(fw(lab)), signed(lab.y), lam)
    pseudo = design(fw(unl)) @ theta_t
    student = Ridge.on(design(fs(unl)), lam)
    theta_s, theta_c = student.fit(pseudo), student.fit(signed(unl.y))
    xw, xs = design(fw(test)), design(fs(test))
    wt = test_weights(config.eta_t)
    out: dict[str, Any] = {"dataset": config.dataset, "pair": config.pair, "config": config.to_dict()}
    out.update(heads="ridge", ridge=lam)
    for name, theta, x in (("teacher", theta_t, xw), ("w2s", theta_s, xs), ("ceiling", theta_c, xs)):
        mse, acc = group_risks(x @ theta, test.y, test.group, tw)
        out[name] = {**_scores(acc, config.eta_t), "group_mse": mse.tolist(), "mse": float(wt @ mse)}
    out["test_draw"] = "bootstrap" if config.resample_test else "fixed"
    right = (pseudo > 0) == (unl.y == 1)
    out["pseudolabels"] = {"acc": float(right.mean()), "acc_minority": float(right[unl.minority].mean())
                           if unl.minority.any() else float("nan")}  # fmt: skip
    metrics = ("average", "worst_group")
    out["gain"] = {m: out["w2s"][m] - out["teacher"][m] for m in metrics}
    out["gain"]["mse"] = out["teacher"]["mse"] - out["w2s"]["mse"]
    out["pgr"] = {m: _ratio(out["w2s"][m] - out["teacher"][m], out["ceiling"][m] - out["teacher"][m]) for m in metrics}
    if with_probes:
        out["probes"] = {b: probes(config.dataset, b, size=config.size) for b in config.backbones}
    return out
