r"""The paper's printed leading-order forms, and their model-general trace versions.

Printed in "Does Weak-to-strong Generalization Happen under Spurious Correlations?" (Liu,
Dong, Lei, ICLR 2026) for ridgeless fits, :math:`N = \infty`, to leading order in
:math:`\gamma_z` (see docs/theory.md, "The printed forms"):

.. math::
    E\,ER_{\eta_t}(f_T) &\to \sigma_y^2\gamma_z\Big(p_T + \frac{\|(\eta_t-\eta_l)\mu_T\|^2}{\sigma_\xi^2}\Big),\\
    E\,ER_{\eta_t}(f_S) &\to \sigma_y^2\gamma_z\Big(p_{T\wedge S} +
        \frac{\|(\eta_u-\eta_l)\mu_T + (\eta_t-\eta_u)\Xi\mu_S\|^2}{\sigma_\xi^2}\Big).

They are the mean-shift values of the trace forms

.. math:: \sigma_y^2\gamma_z\,\mathrm{tr}(M_t M_l^{-1}),\qquad
          \sigma_y^2\gamma_z\,\mathrm{tr}(P K_t P^\top M_l^{-1}),

which this module evaluates for either group model (the "paper" method). The unknown
:math:`\Theta(\nu_z)` student term is not included, and ridges are ignored (the printed forms
are ridgeless): use the exact method for those.
"""

from __future__ import annotations

import jax.numpy as jnp

from setting.moments import projection, student_moment, teacher_moment
from setting.problem import Problem

__all__ = [
    "printed_teacher_risk",
    "printed_student_risk",
    "teacher_risk_paper",
    "student_risk_paper",
    "gain_paper",
    "eta_u_star_printed",
    "failure_threshold_printed",
]


def _sq(v):
    return jnp.sum(jnp.square(v))


def printed_teacher_risk(problem: Problem):
    r""":math:`\sigma_y^2\gamma_z(p_T + (\eta_t-\eta_l)^2\|\mu_T\|^2/\sigma_\xi^2)`, as printed."""
    pr = problem
    return pr.sigma_y2 * pr.gamma * (pr.p_T + (pr.eta_t - pr.eta_l) ** 2 * _sq(pr.mu_T) / pr.sigma_xi2)


def printed_student_risk(problem: Problem):
    r"""As printed:

    .. math:: \sigma_y^2\gamma_z(1 + \|\Xi\|_F^2 + \|(\eta_u-\eta_l)\mu_T + (\eta_t-\eta_u)\Xi\mu_S\|^2/\sigma_\xi^2).
    """
    pr = problem
    p_ts = 1.0 + _sq(pr.Xi)
    shift = (pr.eta_u - pr.eta_l) * pr.mu_T + (pr.eta_t - pr.eta_u) * (pr.Xi @ pr.mu_S)
    return pr.sigma_y2 * pr.gamma * (p_ts + _sq(shift) / pr.sigma_xi2)


def teacher_risk_paper(problem: Problem):
    r"""Leading-order teacher risk :math:`\sigma_y^2\gamma_z\,\mathrm{tr}(M_t M_l^{-1})`.

    Equals :func:`printed_teacher_risk` under the mean-shift model; under the mixture it is
    :math:`\sigma_y^2\gamma_z[p_T + (\eta_t-\eta_l)(1-2\eta_l)a/(1+\eta_l(1-\eta_l)a)]`,
    :math:`a = \|\mu_T\|^2/\sigma_\xi^2` (docs/theory.md).
    """
    M_l = teacher_moment(problem, problem.eta_l)
    M_t = teacher_moment(problem, problem.eta_t)
    return problem.sigma_y2 * problem.gamma * jnp.trace(jnp.linalg.solve(M_l, M_t))


def student_risk_paper(problem: Problem):
    r"""Leading-order student risk (N = inf) :math:`\sigma_y^2\gamma_z\,\mathrm{tr}(P K_t P^\top M_l^{-1})`,
    :math:`P = E_u[w\psi^\top]K_u^{-1}`. Equals :func:`printed_student_risk` under mean-shift."""
    M_l = teacher_moment(problem, problem.eta_l)
    P = projection(problem, problem.eta_u)
    K_t = student_moment(problem, problem.eta_t)
    return problem.sigma_y2 * problem.gamma * jnp.trace(jnp.linalg.solve(M_l, P @ K_t @ P.T))


def gain_paper(problem: Problem):
    """Leading-order W2S gain: teacher risk minus student risk."""
    return teacher_risk_paper(problem) - student_risk_paper(problem)


def eta_u_star_printed(problem: Problem):
    r"""The printed student risk's minimiser over :math:`\eta_u` (docs/theory.md, "The paper", claim (b)):

    .. math:: \eta_u^* = \frac{(\mu_T - \Xi\mu_S)^\top(\eta_l\mu_T - \eta_t\Xi\mu_S)}{\|\mu_T-\Xi\mu_S\|^2}.

    Unconstrained (may leave [0, 1]); NaN where :math:`\mu_T = \Xi\mu_S` (the risk does not
    depend on :math:`\eta_u`). Exact for the mean-shift model's leading order.
    """
    d = problem.mu_T - problem.Xi @ problem.mu_S
    num = d @ (problem.eta_l * problem.mu_T - problem.eta_t * (problem.Xi @ problem.mu_S))
    den = _sq(d)
    return jnp.where(den > 0, num / jnp.where(den > 0, den, 1.0), jnp.nan)


def failure_threshold_printed(problem: Problem):
    r"""Separation above which the printed W2S gain turns negative.

    Scale :math:`\mu_\xi \to s\mu_\xi` with its direction fixed. The printed gain is
    :math:`\sigma_y^2\gamma_z[(p_T - p_{T\wedge S}) + s^2 Q]` with
    :math:`Q = ((\eta_t-\eta_l)^2\|\mu_T\|^2 - \|(\eta_u-\eta_l)\mu_T + (\eta_t-\eta_u)\Xi\mu_S\|^2)/\sigma_\xi^2`,
    so it fails once :math:`\|s\mu_T\|^2/\sigma_\xi^2` exceeds
    :math:`(p_T - p_{T\wedge S})\,\|\mu_T\|^2/(\sigma_\xi^2(-Q))` (infinite when :math:`Q \ge 0`).
    With :math:`\Xi = 0` this is :math:`(p_T-1)/((\eta_u-\eta_l)^2-(\eta_t-\eta_l)^2)`, the paper's
    :math:`12.5(p_T-1)` when the denominator is 0.08 (claim d).
    """
    pr = problem
    a = _sq(pr.mu_T) / pr.sigma_xi2
    shift = (pr.eta_u - pr.eta_l) * pr.mu_T + (pr.eta_t - pr.eta_u) * (pr.Xi @ pr.mu_S)
    Q = ((pr.eta_t - pr.eta_l) ** 2 * _sq(pr.mu_T) - _sq(shift)) / pr.sigma_xi2
    variance_gap = (pr.p_T - 1.0) - _sq(pr.Xi)
    safe = jnp.where(Q < 0, -Q, 1.0)
    return jnp.where(Q < 0, variance_gap * a / safe, jnp.inf)
