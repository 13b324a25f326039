r"""Ridge W2S risks over a grid of (eta_l, eta_u), on the real features or on their Gaussian surrogate.

One code path for both sources; only the draw of the sets and the scoring differ:

* ``"measured"``: the sets of the deep path (:meth:`simulate.deep.DeepConfig.sets`, drawn from
  the pool by :func:`simulate.deep.run_w2s`'s key split, so seed ``s`` sees the same sets as the
  classification path), risks on the seed's bootstrap draw of the real test set;
* ``"surrogate"``: the same set sizes and exact group counts drawn from the pool's Gaussian group
  mixture (:func:`simulate.deep._surrogate.surrogate`), risks exact under the mixture.

Per seed ``s`` (``jax.random.key(s)``) and grid point the teacher is a ridge on the weak design of
the labeled set ``(n - n_bal, eta_l)``, the student a ridge on the strong design of the unlabeled
set ``(N, eta_u)`` fitted to the teacher's predictions (:mod:`simulate.deep._ridge`); risks at
``eta_t`` (:func:`simulate.deep._ridge.test_weights`). The student's factorisation is shared by
the teachers of every ``eta_l`` (its unlabeled set depends on the seed and ``eta_u`` only).
"""

from __future__ import annotations

from collections.abc import Sequence

import jax
import numpy as np

from ._data import group_counts
from ._ridge import Ridge, design, group_risks, ridge_fit, signed, test_weights

__all__ = ["SOURCES", "ridge_curves"]

SOURCES = ("measured", "surrogate")
FIELDS = ("teacher_mse", "student_mse", "teacher_acc", "student_acc", "gain_mse", "gain_acc", "teacher_mse_pool",
          "student_mse_pool", "gain_mse_pool")  # fmt: skip


def ridge_curves(
    pair: str,
    *,
    source: str,
    eta_l: Sequence[float],
    eta_u: Sequence[float],
    seeds: Sequence[int],
    size: str = "full",
    n: int | None = None,
    N: int | None = None,
    n_val: int | None = None,
    n_bal: int | None = None,
    eta_t: float = 0.5,
    ridge: float = 1e-3,
) -> dict[str, np.ndarray]:
    """Per (eta_l, eta_u, seed) the ridge teacher's and student's risks at ``eta_t``.

    Args:
        pair: a tweets pair (:data:`simulate.deep.TEXT_PAIRS`).
        source: ``"measured"`` (real features, real test set) or ``"surrogate"`` (:data:`SOURCES`).
        eta_l, eta_u: the grid; seeds: the seeds (one key each).
        size, n, N, n_val, n_bal, eta_t: as :class:`simulate.deep.DeepConfig` (None: its defaults).
        ridge: the ridge of every head.

    Returns:
        ``{field: (len(eta_l), len(eta_u), len(seeds)) float64}`` for ``teacher_mse``, ``student_mse``
        (mean squared error against the true :math:`\\pm1` label), ``teacher_acc``, ``student_acc``
        (accuracy at ``eta_t``), ``gain_mse`` (teacher minus student mse: positive when the
        student is better) and ``gain_acc`` (student minus teacher accuracy); ``teacher_mse_pool``,
        ``student_mse_pool``, ``gain_mse_pool``: the measured heads' mean squared error on the pool
        tweets that none of the seed's sets drew, instead of on the test set (for the surrogate, the
        same as the exact risks); ``n_teacher``,
        the teacher's labeled set size ``n - n_bal``.
    """
    from threadpoolctl import threadpool_limits

    from ._pipeline import DeepConfigError

    if source not in SOURCES:
        raise DeepConfigError("source", f"unknown source {source!r} (known: {', '.join(SOURCES)})")
    # One BLAS thread: the solves are small, and on a shared 2-core machine OpenBLAS's threads
    # made a 385 x 385 Cholesky take a second instead of milliseconds.
    with threadpool_limits(1, user_api="blas"):
        return _curves(pair, source, eta_l, eta_u, seeds, size, n, N, n_val, n_bal, eta_t, ridge)


def _curves(pair, source, eta_l, eta_u, seeds, size, n, N, n_val, n_bal, eta_t, ridge) -> dict[str, np.ndarray]:
    from ._pipeline import DeepConfig, _bench, _bootstrap_weights

    base = DeepConfig(dataset="tweets", pair=pair, size=size, n=n, N=N, n_val=n_val, n_bal=n_bal, eta_t=eta_t)
    configs = [[base.__class__(**{**base.to_dict(), "eta_l": el, "eta_u": eu}) for eu in eta_u] for el in eta_l]
    weak, strong = base.backbones
    n_t = base.n - base.n_bal
    wt = test_weights(eta_t)
    shape = (len(eta_l), len(eta_u), len(seeds))
    out = {f: np.full(shape, np.nan) for f in FIELDS}

    def record(il, iu, js, t_risk, s_risk, t_pool, s_pool):
        (tm, ta), (sm, sa) = t_risk, s_risk
        out["teacher_mse"][il, iu, js], out["student_mse"][il, iu, js] = wt @ tm, wt @ sm
        out["teacher_acc"][il, iu, js], out["student_acc"][il, iu, js] = wt @ ta, wt @ sa
        out["teacher_mse_pool"][il, iu, js], out["student_mse_pool"][il, iu, js] = wt @ t_pool, wt @ s_pool

    if source == "measured":
        bench = _bench("tweets", size)
        fw, fs = bench.features(weak), bench.features(strong)
        test, pool = bench.test_split(), bench.pool_split()
        xw_test, xs_test = design(fw(test)), design(fs(test))
        xw_pool, xs_pool = design(fw(pool)), design(fs(pool))
        for js, s in enumerate(seeds):
            k_data, *_, k_test = jax.random.split(jax.random.key(s), 6)  # run_w2s's split of the key
            tw = _bootstrap_weights(k_test, test.group)
            for iu in range(len(eta_u)):
                student = unl_index = None
                for il in range(len(eta_l)):
                    sets = bench.draw(k_data, configs[il][iu])
                    unl, lab = sets[0], sets[2]
                    # the pool tweets that no set of this draw holds: a held-out sample of the pool's law
                    held = ~np.isin(pool.index, np.concatenate([s.index for s in sets]))
                    hy, hg = pool.y[held], pool.group[held]
                    if student is None:
                        student, unl_index = Ridge.on(design(fs(unl)), ridge), unl.index
                    assert np.array_equal(unl.index, unl_index)  # drawn first: independent of eta_l
                    theta_t = ridge_fit(design(fw(lab)), signed(lab.y), ridge)
                    theta_s = student.fit(design(fw(unl)) @ theta_t)
                    record(il, iu, js, group_risks(xw_test @ theta_t, test.y, test.group, tw),
                           group_risks(xs_test @ theta_s, test.y, test.group, tw),
                           group_risks(xw_pool[held] @ theta_t, hy, hg)[0],
                           group_risks(xs_pool[held] @ theta_s, hy, hg)[0])  # fmt: skip
    else:
        from ._surrogate import LABEL_MEAN, surrogate

        sur = surrogate(weak, strong, size)
        d_w = sur.moments.d_weak
        for js, s in enumerate(seeds):
            key = jax.random.key(s)
            teachers = []
            for il, el in enumerate(eta_l):  # the labeled sets: one per eta_l, shared by every eta_u
                x, g = sur.sample(jax.random.fold_in(key, il), group_counts(n_t, el))
                teachers.append(ridge_fit(design(x[:, :d_w]), LABEL_MEAN[g], ridge))
            t_risks = [sur.risks(th, "weak") for th in teachers]
            for iu, eu in enumerate(eta_u):
                x, _ = sur.sample(jax.random.fold_in(key, 1000 + iu), group_counts(base.N, eu))
                student = Ridge.on(design(x[:, d_w:]), ridge)
                xw = design(x[:, :d_w])
                for il in range(len(eta_l)):
                    theta_s = student.fit(xw @ teachers[il])
                    s_risk = sur.risks(theta_s, "strong")
                    record(il, iu, js, t_risks[il], s_risk, t_risks[il][0], s_risk[0])
    out["gain_mse"] = out["teacher_mse"] - out["student_mse"]
    out["gain_acc"] = out["student_acc"] - out["teacher_acc"]
    out["gain_mse_pool"] = out["teacher_mse_pool"] - out["student_mse_pool"]
    out["n_teacher"] = np.asarray(n_t)
    return out
