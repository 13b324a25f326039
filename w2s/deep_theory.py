r"""Predicted against empirical W2S gain of ridge heads on the tweet encoders (issue 21, deep side).

For a tweets pair, at each ``(eta_l, eta_u)`` the gain (teacher minus student mean squared
error against the true :math:`\pm1` label, at ``eta_t``) three ways:

* ``predicted``: :func:`asymptotics.mixture_risks` fed only the pool's group moments of the pair
  (:func:`simulate.deep.pool_moments`, through :meth:`simulate.deep.GroupMoments.mixture_arrays`),
  the sizes ``(n - n_bal, N)`` and the ridges; the group weights are those the sampler draws
  (:func:`simulate.deep.group_weights`) and the test weights those of the average
  (:func:`simulate.deep.test_weights`);
* ``surrogate``: the same heads on features drawn from the pool's Gaussian group mixture, risks
  exact under it (:func:`simulate.deep.ridge_curves`, ``source="surrogate"``);
* ``measured``: the same heads on the real features, risks on each seed's bootstrap draw of the
  test set (``source="measured"``).

Surrogate and measured carry mean and standard error over the seeds (the measured one over
seeds and test draws). :math:`z = (\text{mean} - \text{predicted})/\text{se}`; the theory must
agree with its own surrogate (up to its finite-size error), and its agreement with the real
features is the question.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any

import numpy as np

__all__ = ["DEFAULT_ETA_L", "DEFAULT_ETA_U", "curve", "mixture", "predicted", "records", "z_summary"]

DEFAULT_ETA_L = (0.1, 0.3, 0.5)
DEFAULT_ETA_U = tuple(np.round(np.linspace(0.0, 1.0, 11), 2).tolist())


@functools.lru_cache(maxsize=4)
def mixture(weak: str, strong: str, size: str = "full"):
    """The :class:`asymptotics.GroupMixture` of the pair's pool moments (intercept appended to each view)."""
    import asymptotics
    import simulate.deep as deep

    return asymptotics.GroupMixture(**deep.pool_moments(weak, strong, size).mixture_arrays())


def predicted(
    pair: str, *, eta_l: Sequence[float], eta_u: Sequence[float], n_teacher: int, N: int, eta_t: float,
    ridge: float, size: str = "full",
) -> dict[str, np.ndarray]:  # fmt: skip
    """The theory's ``teacher``, ``student`` and ``gain`` (mean squared error), ``(len(eta_l), len(eta_u))``."""
    import asymptotics
    import simulate.deep as deep

    weak, strong = deep.TEXT_PAIRS[pair]
    mx = mixture(weak, strong, size)
    wu = np.stack([deep.group_weights(N, u) for u in eta_u])
    wt = deep.test_weights(eta_t)
    out = {k: np.zeros((len(eta_l), len(eta_u))) for k in ("teacher", "student", "gain")}
    for il, el in enumerate(eta_l):
        wl = deep.group_weights(n_teacher, el)
        for iu in range(len(eta_u)):  # a loop: vmapping the fixed points over eta_u was slower on the CPU
            r = asymptotics.mixture_risks(
                mx, wl, wu[iu], wt, n=n_teacher, N=N, ridge_teacher=ridge, ridge_student=ridge
            )
            for k in out:
                out[k][il, iu] = float(r[k])
    return out


def _mean_se(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    k = x.shape[-1]
    return x.mean(-1), x.std(-1, ddof=1) / np.sqrt(k)


def curve(
    pair: str, *, seeds: Sequence[int], eta_l: Sequence[float] = DEFAULT_ETA_L,
    eta_u: Sequence[float] = DEFAULT_ETA_U, size: str = "full", n: int | None = None, N: int | None = None,
    n_val: int | None = None, n_bal: int | None = None, eta_t: float = 0.5, ridge: float = 1e-3,
    theory: bool = True,
) -> dict[str, Any]:  # fmt: skip
    """Measured, surrogate and (with ``theory``) predicted gain curves of ``pair``.

    Returns arrays of shape ``(len(eta_l), len(eta_u))``: ``measured``, ``measured_se``,
    ``surrogate``, ``surrogate_se``, ``predicted`` (NaN without ``theory``), the same three for
    the teacher's and the student's risk (``teacher_measured``, ...), the accuracy gains
    ``measured_acc``, ``measured_acc_se``, ``surrogate_acc``, ``surrogate_acc_se``, the z-scores
    ``z_surrogate`` and ``z_measured``; ``measured_pool``, ``measured_pool_se``, ``z_measured_pool``,
    ``teacher_measured_pool``, ``student_measured_pool``: the real heads' risks on the pool tweets
    that none of the seed's sets drew, instead of on the test set; and ``eta_l``, ``eta_u``,
    ``seeds``, ``n_teacher``, ``N``, ``ridge``.
    """
    import simulate.deep as deep

    if len(seeds) < 2:
        raise ValueError(f"seeds: a standard error needs at least 2 seeds, got {len(seeds)}")
    common = dict(eta_l=eta_l, eta_u=eta_u, seeds=seeds, size=size, n=n, N=N, n_val=n_val, n_bal=n_bal,
                  eta_t=eta_t, ridge=ridge)  # fmt: skip
    out: dict[str, Any] = {"eta_l": np.asarray(eta_l, np.float64), "eta_u": np.asarray(eta_u, np.float64)}
    for src in deep.SOURCES:
        r = deep.ridge_curves(pair, source=src, **common)
        out[src], out[f"{src}_se"] = _mean_se(r["gain_mse"])
        out[f"{src}_acc"], out[f"{src}_acc_se"] = _mean_se(r["gain_acc"])
        if src == "measured":  # the real heads scored on the unused pool tweets instead of the test set
            out["measured_pool"], out["measured_pool_se"] = _mean_se(r["gain_mse_pool"])
            for model in ("teacher", "student"):
                out[f"{model}_measured_pool"], _ = _mean_se(r[f"{model}_mse_pool"])
        for model in ("teacher", "student"):
            out[f"{model}_{src}"], out[f"{model}_{src}_se"] = _mean_se(r[f"{model}_mse"])
        n_teacher = int(r["n_teacher"])
    config = deep.DeepConfig(dataset="tweets", pair=pair, size=size, n=n, N=N, n_val=n_val, n_bal=n_bal)
    shape = out["measured"].shape
    if theory:
        p = predicted(pair, eta_l=eta_l, eta_u=eta_u, n_teacher=n_teacher, N=config.N, eta_t=eta_t, ridge=ridge,
                      size=size)  # fmt: skip
        out["predicted"] = p["gain"]
        out["teacher_predicted"], out["student_predicted"] = p["teacher"], p["student"]
    else:
        for k in ("predicted", "teacher_predicted", "student_predicted"):
            out[k] = np.full(shape, np.nan)
    for src in (*deep.SOURCES, "measured_pool"):
        with np.errstate(divide="ignore", invalid="ignore"):
            out[f"z_{src}"] = (out[src] - out["predicted"]) / out[f"{src}_se"]
    out.update(seeds=np.asarray(seeds), n_teacher=np.asarray(n_teacher), N=np.asarray(config.N),
               ridge=np.asarray(ridge))  # fmt: skip
    return out


def z_summary(z: np.ndarray) -> dict[str, float]:
    """``{"median": median |z|, "max": max |z|, "count": number of points}`` over the finite z-scores."""
    a = np.abs(np.asarray(z, np.float64))
    a = a[np.isfinite(a)]
    if a.size == 0:
        return {"median": float("nan"), "max": float("nan"), "count": 0}
    return {"median": float(np.median(a)), "max": float(np.max(a)), "count": int(a.size)}


def records(c: dict[str, Any]) -> list[dict[str, Any]]:
    """One record per ``(eta_l, eta_u)`` of :func:`curve`: ``eta_l``, ``eta_u``, ``measured`` and
    ``surrogate`` (``mean``, ``se``; and ``acc_mean``, ``acc_se``, the accuracy gain), ``predicted``."""
    out = []
    for il, el in enumerate(c["eta_l"]):
        for iu, eu in enumerate(c["eta_u"]):
            rec: dict[str, Any] = {"eta_l": float(el), "eta_u": float(eu)}
            for src in ("measured", "surrogate"):
                rec[src] = {
                    k: float(c[f"{src}{suffix}"][il, iu])
                    for k, suffix in (("mean", ""), ("se", "_se"), ("acc_mean", "_acc"), ("acc_se", "_acc_se"))
                }
            rec["predicted"] = float(c["predicted"][il, iu])
            out.append(rec)
    return out
