r"""Exact proportional-limit deterministic equivalents of the teacher and student risks.

"Does Weak-to-strong Generalization Happen under Spurious Correlations?" (Liu, Dong, Lei,
ICLR 2026) prints the risks to leading order in :math:`\gamma_z`. This module evaluates them
exactly in the proportional limit :math:`d_z, n, N\to\infty`, :math:`d_z/n\to\gamma_z`,
:math:`d_z/N\to\nu_z`, for ridge :math:`\lambda\ge0` (teacher and student, min-norm at 0 in both
regimes), finite :math:`\nu_z`, and either group model. The derivation is in docs/theory.md,
section "Exact proportional-limit theory". In brief, with :math:`\tilde B` the resolvent fixed
point of :mod:`._fixed_point` and :math:`H` its derivative operator:

Teacher (:math:`v = w`, ratio :math:`\gamma_z`, ridge :math:`\lambda`):

.. math:: \mathcal E = E[\Delta^\top\Delta] = c^2 r^2 H e_1e_1^\top + \sigma_y^2\gamma_z V,\qquad
          V = \begin{cases}\tilde B - \lambda H I & \gamma_z p_T < 1\\ H J_2 & \gamma_z p_T > 1\end{cases},
          \qquad \Delta^\top\beta^* = -c\,r^2\tilde Be_1,

and :math:`E\,ER_{\eta_t}(f_T) = \mathrm{tr}(M_t\mathcal E)`.

Student (:math:`v = \psi`, ratio :math:`\nu_z`, ridge :math:`\lambda_S`), with
:math:`\bar G = [[\mathcal E, \Delta^\top\beta^*],[\cdot, r^2]]`,
:math:`P_\nu = E_u[w\psi^\top/(s+\tilde\delta)]\tilde B_S`, :math:`\Pi = [P_\nu; -c_S e_1^\top\tilde B_S]`,
:math:`\bar\rho = [w; 0] - \Pi\psi`, :math:`X_S = H_S K_t`:

.. math:: E\,ER_{\eta_t}(f_S) = \mathrm{tr}(K_t\Pi^\top\bar G\Pi)
          + \nu_z E_u\Big[\frac{(\bar\rho^\top\bar G\bar\rho)\,\psi^\top X_S\psi}{(s_S + \tilde\delta)^2}\Big].

Exactly at an interpolation threshold (:math:`\gamma_z p_T = 1` with :math:`\lambda = 0`, or
:math:`\nu_z p_S = 1` with :math:`\lambda_S = 0`) the risk is infinite and these functions return
``inf`` (the CLI prints a note).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from setting.moments import embed, student_moment, teacher_moment
from setting.problem import Problem

from ._fixed_point import checked, resolvent_operator, solve_resolvent
from ._quadrature import GaussianMixture

__all__ = [
    "teacher_risk_exact",
    "student_risk_exact",
    "gain_exact",
    "at_teacher_threshold",
    "at_student_threshold",
    "exact_parts",
]

THRESHOLD_TOL = 1e-12


def _law(problem: Problem, eta, V):
    r"""Law of :math:`x = [1; V^\top\xi]` under :math:`D(\eta)` (``V`` orthonormal columns)."""
    mu = jnp.asarray(problem.mu_xi) @ V
    var = jnp.asarray(problem.sigma_xi2, dtype=mu.dtype)
    weights, scales = problem.law.components(eta)  # xi | s ~ N(s mu_xi, sigma_xi^2 I), s ~ sum_j pi_j delta_{a_j}
    weights = jnp.stack([jnp.asarray(w, dtype=mu.dtype) for w in weights])
    return GaussianMixture(weights, jnp.stack([a * mu for a in scales]), var)


def _joint_basis(problem: Problem):
    """Orthonormal V with col([T, S]) inside col(V); x = [1; V^T xi] carries both w and psi."""
    T, S = jnp.asarray(problem.T), jnp.asarray(problem.S)
    TS = jnp.concatenate([T, S], axis=1)
    p = TS.shape[0]
    if TS.shape[1] >= p:
        return jnp.eye(p)
    Q, _ = jnp.linalg.qr(TS)  # (p, k_T + k_S), possibly with spare columns: harmless
    return Q


def _branch(ratio, dim, ridge):
    """(s, c, under, threshold, safe_ridge) for the parametrisation of the resolvent equation."""
    under = ratio * dim < 1.0
    threshold = (jnp.abs(ratio * dim - 1.0) <= THRESHOLD_TOL) & (ridge == 0)
    safe_ridge = jnp.where(threshold, 1.0, ridge)
    s = jnp.where(under, 1.0, safe_ridge)
    c = jnp.where(under, safe_ridge, 1.0)
    return s, c, under, threshold, safe_ridge


def at_teacher_threshold(problem: Problem):
    """True where the ridgeless teacher sits exactly at gamma p_T = 1 (infinite risk)."""
    return (jnp.abs(problem.gamma * problem.p_T - 1.0) <= THRESHOLD_TOL) & (problem.ridge_teacher == 0)


def at_student_threshold(problem: Problem):
    """True where the ridgeless student sits exactly at nu p_S = 1 (infinite risk)."""
    return (jnp.abs(problem.nu * problem.p_S - 1.0) <= THRESHOLD_TOL) & (problem.ridge_student == 0)


def _teacher_solution(problem: Problem):
    pT = problem.p_T
    law = _law(problem, problem.eta_l, jnp.asarray(problem.T))  # x = w
    s, c, under, threshold, lam = _branch(problem.gamma, pT, problem.ridge_teacher)
    res = solve_resolvent(law, jnp.eye(pT), problem.gamma, s, c)
    e1 = jnp.zeros((pT, pT)).at[0, 0].set(1.0)
    r2 = problem.signal
    bias = c * c * r2 * resolvent_operator(res, e1)
    var_under = res.B - lam * resolvent_operator(res, jnp.eye(pT))
    var_over = resolvent_operator(res, res.E2x)
    var = jnp.where(under, var_under, var_over)
    E = bias + problem.sigma_y2 * problem.gamma * var
    cross = -c * r2 * res.B[:, 0]
    return E, cross, threshold, res.converged


@jax.jit
def teacher_risk_exact(problem: Problem):
    r"""Exact proportional-limit :math:`E\,ER_{\eta_t}(f_T) = \mathrm{tr}(M_t\,E[\Delta^\top\Delta])`.

    Ridge :math:`\lambda = ` ``ridge_teacher`` :math:`\ge 0` on the mean squared error; at
    :math:`\lambda = 0` the min-norm limit, in both regimes :math:`\gamma_z p_T \lessgtr 1`
    (:math:`\|\beta^*\|^2 =` ``signal`` enters through the bias). Returns ``inf`` at
    :math:`\gamma_z p_T = 1`, :math:`\lambda = 0`. Reduces to O1/O2 (docs/theory.md, "Published special cases") at
    :math:`p_T = 1` and to :func:`teacher_risk_paper` as :math:`\gamma_z\to0`.
    """
    E, _, threshold, ok = _teacher_solution(problem)
    return checked(_teacher_risk(problem, E, threshold), ok)


def _teacher_risk(problem: Problem, E, threshold):
    return jnp.where(threshold, jnp.inf, jnp.trace(teacher_moment(problem, problem.eta_t) @ E))


def _student_solution(problem: Problem):
    """The student's resolvent, its ``c`` and its threshold flag: what depends on the student's
    side of the problem only (not on the teacher, eta_t or the label scales)."""
    V = _joint_basis(problem)
    law = _law(problem, problem.eta_u, V)
    AS = embed(V.T @ jnp.asarray(problem.S))  # psi = AS x
    s, c, _, threshold, _ = _branch(problem.nu, problem.p_S, problem.ridge_student)
    return solve_resolvent(law, AS, problem.nu, s, c), c, threshold


def _student_risk_from(problem: Problem, res, c, s_threshold, Eteach, cross, t_threshold):
    """The student's risk from its resolvent and the teacher's solution, and whether both converged."""
    V = _joint_basis(problem)
    AT = embed(V.T @ jnp.asarray(problem.T))  # w = AT x
    AS = embed(V.T @ jnp.asarray(problem.S))  # psi = AS x
    P = AT @ res.E1x @ AS.T @ res.B  # (p_T, p_S)
    Pi = jnp.concatenate([P, -c * res.B[:1, :]], axis=0)  # (p_T + 1, p_S)
    Abar = jnp.concatenate([AT, jnp.zeros((1, AT.shape[1]))], axis=0)
    R = Abar - Pi @ AS  # rho_bar = R x
    r2 = jnp.asarray(problem.signal, dtype=Eteach.dtype)
    G = jnp.concatenate(
        [jnp.concatenate([Eteach, cross[:, None]], axis=1), jnp.concatenate([cross, r2[None]])[None, :]], axis=0
    )
    K_t = student_moment(problem, problem.eta_t)
    term1 = jnp.trace(K_t @ Pi.T @ G @ Pi)
    X = resolvent_operator(res, K_t)
    Gx = R.T @ G @ R
    Xx = AS.T @ X @ AS
    term2 = problem.nu * jnp.einsum("ab,cd,abcd->", Gx, Xx, res.E4x)
    return jnp.where(t_threshold | s_threshold, jnp.inf, term1 + term2), res.converged


def _student_risk(problem: Problem, Eteach, cross, t_threshold):
    """The student's risk given the teacher's solution, and whether its fixed point converged."""
    return _student_risk_from(problem, *_student_solution(problem), Eteach, cross, t_threshold)


def exact_parts(problem: Problem):
    """Teacher risk, student risk (the teacher's fixed point solved once) and whether both fixed
    points converged, without raising: for compiled programs that report convergence themselves."""
    E, cross, threshold, ok_t = _teacher_solution(problem)
    student, ok_s = _student_risk(problem, E, cross, threshold)
    return _teacher_risk(problem, E, threshold), student, ok_t & ok_s


@jax.jit
def student_risk_exact(problem: Problem):
    r"""Exact proportional-limit :math:`E\,ER_{\eta_t}(f_S)` of the W2S student.

    The student fits the teacher's predictions on :math:`N = d_z/\nu_z` samples of
    :math:`D(\eta_u)` with ridge ``ridge_student`` (0 = min-norm, both regimes
    :math:`\nu_z p_S \lessgtr 1`). :math:`\nu_z = 0` gives the population fit
    :math:`\Theta_S = \Theta_T C_u(K_u+\lambda_S I)^{-1}`. Returns ``inf`` at either
    interpolation threshold.
    """
    _, student, ok = exact_parts(problem)
    return checked(student, ok)


@jax.jit
def gain_exact(problem: Problem):
    """Exact W2S gain: teacher risk minus student risk (the teacher's fixed point solved once)."""
    teacher, student, ok = exact_parts(problem)
    return checked(teacher - student, ok)
