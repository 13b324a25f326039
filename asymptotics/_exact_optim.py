r"""Beyond the paper's printed forms: optimisers and the phase boundary of the exact gain.

All are pure JAX on top of :mod:`._exact` (jit- and vmap-able, e.g. through :func:`on_grid`):

* :func:`eta_u_star_exact`: the pseudolabel minority fraction :math:`\eta_u^*\in[0,1]` that
  maximises the exact W2S gain, i.e. minimises the student's risk (the teacher's does not depend
  on :math:`\eta_u`). Projected bisection on the sign of :math:`\partial_{\eta_u}` of the student
  risk, the derivative taken through the fixed points by implicit differentiation.
* :func:`phase_point_exact` / :func:`phase_boundary_exact`: the W2S phase boundary
  :math:`\{\text{gain} = 0\}` in the :math:`(\eta_l, \eta_u)` plane, as the two roots in
  :math:`\eta_u` on either side of :math:`\eta_u^*` for each :math:`\eta_l` (for the gain on a
  grid, :func:`asymptotics.evaluate_grid`).
* :func:`optimal_student_ridge_exact`: the student ridge minimising the student's risk.

The bisections assume the student risk is unimodal in :math:`\eta_u` (resp. :math:`\log\lambda_S`)
on the search interval; tests/test_exact_optim.py checks each optimiser against a grid.
"""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np

from setting.problem import Problem

from ._exact import _student_risk, _teacher_risk, _teacher_solution
from ._fixed_point import checked
from ._grid import on_grid

__all__ = [
    "eta_u_star_exact",
    "phase_point_exact",
    "phase_boundary_exact",
    "optimal_student_ridge_exact",
    "eta_u_star_parts",
    "phase_point_parts",
    "phase_point_from",
]

BISECTIONS = 44  # interval [0, 1] down to 6e-14


def _bisect_sign(g, lo, hi, n=BISECTIONS):
    """Last point where the increasing-sign function g changes from < 0 to >= 0 on [lo, hi].

    ``g`` returns ``(value, converged)``; returns the point and whether every evaluation converged.
    """

    def body(_, state):
        a, b, ok = state
        m = 0.5 * (a + b)
        v, ok_m = g(m)
        neg = v < 0
        return jnp.where(neg, m, a), jnp.where(neg, b, m), ok & ok_m

    a, b, ok = jax.lax.fori_loop(0, n, body, (lo, hi, jnp.asarray(True)))
    return 0.5 * (a + b), ok


def _with(problem, **kw):
    return dataclasses.replace(problem, **kw)


def along_eta_u(problem: Problem):
    """The teacher solved once: the student risk as a function of eta_u (returning ``(value,
    converged)``), the teacher's risk and its convergence."""
    E, cross, threshold, ok_t = _teacher_solution(problem)
    teacher = _teacher_risk(problem, E, threshold)

    def student(e):
        return _student_risk(_with(problem, eta_u=e), E, cross, threshold)

    return student, teacher, ok_t


def argmin_student(student, n=BISECTIONS):
    """Projected bisection on the sign of the derivative of ``student`` over [0, 1].

    One loop evaluates the derivative at 0, at 1, then at the bisection midpoints, so the
    student's solve and its derivative are traced and compiled once."""
    dr = jax.grad(student, has_aux=True)

    def body(i, state):
        a, b, d0, d1, ok = state
        e = jnp.where(i == 0, 0.0, jnp.where(i == 1, 1.0, 0.5 * (a + b)))
        d, ok_e = dr(e)
        neg = (i >= 2) & (d < 0)
        a, b = jnp.where(neg, e, a), jnp.where((i >= 2) & ~neg, e, b)
        return a, b, jnp.where(i == 0, d, d0), jnp.where(i == 1, d, d1), ok & ok_e

    zero = jnp.asarray(0.0)
    a, b, d0, d1, ok = jax.lax.fori_loop(0, n + 2, body, (zero, zero + 1.0, zero, zero, jnp.asarray(True)))
    return jnp.where(d0 >= 0, 0.0, jnp.where(d1 <= 0, 1.0, 0.5 * (a + b))), ok


def eta_u_star_parts(problem: Problem):
    """``(eta_u*, converged)``: :func:`eta_u_star_exact` without raising."""
    student, _, ok_t = along_eta_u(problem)
    star, ok = argmin_student(student)
    return star, ok & ok_t


@jax.jit
def eta_u_star_exact(problem: Problem):
    r""":math:`\eta_u^* = \arg\max_{\eta_u\in[0,1]}` exact gain :math:`=\arg\min` exact student risk.

    Projected: returns 0 (or 1) when the risk increases (decreases) over all of [0, 1].
    Accurate to ~1e-12 when the student risk is unimodal in :math:`\eta_u`. The teacher, which
    does not depend on :math:`\eta_u`, is solved once.
    """
    return checked(*eta_u_star_parts(problem))


def phase_point_from(student, teacher):
    """``(dict, converged)`` of the phase point of gain(e) = teacher - student(e) over eta_u in
    [0, 1]; ``student(e)`` returns ``(risk, converged)``. Shared by every theory method."""

    def gain(e):
        r, ok = student(e)
        return teacher - r, ok

    star, ok = argmin_student(student)
    g, ok_g = jax.vmap(gain)(jnp.stack([star, jnp.zeros_like(star), jnp.ones_like(star)]))
    gmax, g0, g1 = g[0], g[1], g[2]

    def root(side, lo, hi):  # side +1: gain rises through 0 on [lo, hi]; -1: it falls
        return _bisect_sign(lambda e: (lambda v, ok: (side * v, ok))(*gain(e)), lo, hi)

    # both roots in one vmapped bisection: one compiled copy of the student's solve
    roots, ok_r = jax.vmap(root)(
        jnp.array([1.0, -1.0]), jnp.stack([jnp.zeros_like(star), star]), jnp.stack([star, jnp.ones_like(star)])
    )
    pos = gmax > 0
    lower = jnp.where(pos & (g0 < 0), roots[0], jnp.nan)
    upper = jnp.where(pos & (g1 < 0), roots[1], jnp.nan)
    out = {"eta_u_star": star, "max_gain": gmax, "lower": lower, "upper": upper}
    return out, ok & jnp.all(ok_g) & jnp.all(ok_r)


def phase_point_parts(problem: Problem):
    """``(dict, converged)``: :func:`phase_point_exact` without raising."""
    student, teacher, ok_t = along_eta_u(problem)
    out, ok = phase_point_from(student, teacher)
    return out, ok & ok_t


@jax.jit
def phase_point_exact(problem: Problem):
    r"""The W2S phase boundary at ``problem.eta_l``: the roots of gain(:math:`\eta_u`) = 0.

    Returns a dict: ``eta_u_star``, ``max_gain`` (the gain there), ``lower`` and ``upper`` (the
    root in :math:`[0, \eta_u^*]` and in :math:`[\eta_u^*, 1]`; NaN where the gain keeps its sign
    on that side). W2S happens (gain > 0) exactly for :math:`\eta_u` in (lower, upper), with NaN
    read as the interval's end; if ``max_gain`` < 0 it happens for no :math:`\eta_u`.
    """
    out, ok = phase_point_parts(problem)
    return {k: checked(v, ok) for k, v in out.items()}


def phase_boundary_exact(problem: Problem, eta_l):
    """:func:`phase_point_exact` over an array of ``eta_l`` values (one compilation)."""
    return on_grid(phase_point_exact, problem, eta_l=np.asarray(eta_l, dtype=float))


LOG_RIDGE_RANGE = (-12.0, 6.0)


@jax.jit
def optimal_student_ridge_exact(problem: Problem):
    r"""The student ridge :math:`\lambda_S^*` minimising the exact student risk.

    Bisection on the sign of :math:`\partial_{\log\lambda_S}` risk over
    :math:`\log\lambda_S\in[-12, 6]`; returns 0 (min-norm is optimal) when the risk increases
    from the lower end, and :math:`e^6` when it still decreases at the upper end. Returns a dict
    with ``ridge_student`` and ``student_risk`` at the optimum.
    """

    E, cross, threshold, ok_t = _teacher_solution(problem)

    def risk(la):
        return _student_risk(_with(problem, ridge_student=jnp.exp(la)), E, cross, threshold)

    dr = jax.grad(risk, has_aux=True)
    lo = jnp.asarray(LOG_RIDGE_RANGE[0])
    hi = jnp.asarray(LOG_RIDGE_RANGE[1])
    inner, ok = _bisect_sign(dr, lo, hi, n=50)
    (d_lo, ok_lo), (d_hi, ok_hi) = dr(lo), dr(hi)
    lam = jnp.where(d_lo >= 0, 0.0, jnp.exp(jnp.where(d_hi <= 0, hi, inner)))
    best, ok_b = _student_risk(_with(problem, ridge_student=lam), E, cross, threshold)
    ok = ok_t & ok & ok_lo & ok_hi & ok_b
    return {"ridge_student": checked(lam, ok), "student_risk": checked(best, ok)}
