r"""Beyond the paper's printed forms: optimisers and the phase boundary of the exact gain.

All are pure JAX on top of :mod:`._exact` (jit- and vmap-able, e.g. through :func:`on_grid`):

* :func:`eta_u_star_exact`: the pseudolabel minority fraction :math:`\eta_u^*\in[0,1]` that
  maximises the exact W2S gain, i.e. minimises the student's risk (the teacher's does not depend
  on :math:`\eta_u`). Projected bisection on the sign of :math:`\partial_{\eta_u}` of the student
  risk, the derivative taken through the fixed points by implicit differentiation.
* :func:`phase_point_exact` / :func:`phase_boundary_exact`: the W2S phase boundary
  :math:`\{\text{gain} = 0\}` in the :math:`(\eta_l, \eta_u)` plane, as the two roots in
  :math:`\eta_u` on either side of :math:`\eta_u^*` for each :math:`\eta_l`;
  :func:`gain_grid_exact` gives the gain on a grid for contour plots.
* :func:`optimal_student_ridge_exact`: the student ridge minimising the student's risk.

The bisections assume the student risk is unimodal in :math:`\eta_u` (resp. :math:`\log\lambda_S`)
on the search interval; tests/test_exact_optim.py checks each optimiser against a grid.
"""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np

from w2s.problem import Problem

from ._exact import gain_exact, student_risk_exact
from ._grid import on_grid

__all__ = [
    "eta_u_star_exact",
    "phase_point_exact",
    "phase_boundary_exact",
    "gain_grid_exact",
    "optimal_student_ridge_exact",
]

BISECTIONS = 44  # interval [0, 1] down to 6e-14


def _bisect_sign(g, lo, hi, n=BISECTIONS):
    """Last point where the increasing-sign function g changes from < 0 to >= 0 on [lo, hi]."""

    def body(_, lohi):
        a, b = lohi
        m = 0.5 * (a + b)
        neg = g(m) < 0
        return jnp.where(neg, m, a), jnp.where(neg, b, m)

    a, b = jax.lax.fori_loop(0, n, body, (lo, hi))
    return 0.5 * (a + b)


def _with(problem, **kw):
    return dataclasses.replace(problem, **kw)


@jax.jit
def eta_u_star_exact(problem: Problem):
    r""":math:`\eta_u^* = \arg\max_{\eta_u\in[0,1]}` exact gain :math:`=\arg\min` exact student risk.

    Projected: returns 0 (or 1) when the risk increases (decreases) over all of [0, 1].
    Accurate to ~1e-12 when the student risk is unimodal in :math:`\eta_u`.
    """
    dr = jax.grad(lambda e: student_risk_exact(_with(problem, eta_u=e)))
    lo = jnp.zeros_like(jnp.asarray(problem.eta_u, dtype=float))
    hi = jnp.ones_like(lo)
    inner = _bisect_sign(dr, lo, hi)
    return jnp.where(dr(lo) >= 0, lo, jnp.where(dr(hi) <= 0, hi, inner))


@jax.jit
def phase_point_exact(problem: Problem):
    r"""The W2S phase boundary at ``problem.eta_l``: the roots of gain(:math:`\eta_u`) = 0.

    Returns a dict: ``eta_u_star``, ``max_gain`` (the gain there), ``lower`` and ``upper`` (the
    root in :math:`[0, \eta_u^*]` and in :math:`[\eta_u^*, 1]`; NaN where the gain keeps its sign
    on that side). W2S happens (gain > 0) exactly for :math:`\eta_u` in (lower, upper), with NaN
    read as the interval's end; if ``max_gain`` < 0 it happens for no :math:`\eta_u`.
    """
    star = eta_u_star_exact(problem)

    def gain(e):
        return gain_exact(_with(problem, eta_u=e))

    gmax, g0, g1 = gain(star), gain(jnp.zeros_like(star)), gain(jnp.ones_like(star))
    lower = _bisect_sign(lambda e: gain(e), jnp.zeros_like(star), star)
    upper = _bisect_sign(lambda e: -gain(e), star, jnp.ones_like(star))
    ok = gmax > 0
    lower = jnp.where(ok & (g0 < 0), lower, jnp.nan)
    upper = jnp.where(ok & (g1 < 0), upper, jnp.nan)
    return {"eta_u_star": star, "max_gain": gmax, "lower": lower, "upper": upper}


def phase_boundary_exact(problem: Problem, eta_l):
    """:func:`phase_point_exact` over an array of ``eta_l`` values (one compilation)."""
    return on_grid(phase_point_exact, problem, eta_l=np.asarray(eta_l, dtype=float))


def gain_grid_exact(problem: Problem, eta_l, eta_u):
    """Exact gain on the product grid ``eta_l`` x ``eta_u``, shape ``(len(eta_l), len(eta_u))``.

    For a contour of the phase boundary use e.g. ``matplotlib.pyplot.contour(..., levels=[0])``.
    """
    el = np.asarray(eta_l, dtype=float)[:, None]
    eu = np.asarray(eta_u, dtype=float)[None, :]
    return on_grid(gain_exact, problem, eta_l=el, eta_u=eu)


LOG_RIDGE_RANGE = (-12.0, 6.0)


@jax.jit
def optimal_student_ridge_exact(problem: Problem):
    r"""The student ridge :math:`\lambda_S^*` minimising the exact student risk.

    Bisection on the sign of :math:`\partial_{\log\lambda_S}` risk over
    :math:`\log\lambda_S\in[-12, 6]`; returns 0 (min-norm is optimal) when the risk increases
    from the lower end, and :math:`e^6` when it still decreases at the upper end. Returns a dict
    with ``ridge_student`` and ``student_risk`` at the optimum.
    """

    def risk(la):
        return student_risk_exact(_with(problem, ridge_student=jnp.exp(la)))

    dr = jax.grad(risk)
    lo = jnp.full_like(jnp.asarray(problem.ridge_student, dtype=float), LOG_RIDGE_RANGE[0])
    hi = jnp.full_like(lo, LOG_RIDGE_RANGE[1])
    inner = _bisect_sign(dr, lo, hi, n=50)
    lam = jnp.where(dr(lo) >= 0, 0.0, jnp.exp(jnp.where(dr(hi) <= 0, hi, inner)))
    return {"ridge_student": lam, "student_risk": student_risk_exact(_with(problem, ridge_student=lam))}
