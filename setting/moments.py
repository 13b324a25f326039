r"""Population moments of the group features under D(eta), for every group model.

A group model (:mod:`setting.groups`) draws a scale :math:`s` and :math:`\xi\mid s\sim N(s\mu_\xi,
\sigma_\xi^2 I)`, so

.. math:: E_\eta\xi = E[s]\,\mu_\xi,\qquad
          E_\eta \xi\xi^\top = \sigma_\xi^2 I + h(\eta)\,\mu_\xi\mu_\xi^\top,\quad h(\eta) = E[s^2];

both built-in models have :math:`E[s] = \eta`, and :math:`h(\eta) = \eta` (mixture) or
:math:`\eta^2` (mean-shift).

With :math:`x = [1; \xi]` the teacher and student group features are linear maps
:math:`w = A_T x`, :math:`\psi = A_S x` with :math:`A_T = \mathrm{diag}(1, T^\top)`,
:math:`A_S = \mathrm{diag}(1, S^\top)`, so every second moment is :math:`A G_\eta A'^\top`
with :math:`G_\eta = E_\eta x x^\top`.
"""

from __future__ import annotations

import jax.numpy as jnp

from .problem import Problem


def shift_weight(problem: Problem, eta):
    """h(eta) = E[s^2]: the weight of mu mu^T in E xi xi^T (the group law's, :mod:`setting.groups`)."""
    return problem.law.second_scale(eta)


def augmented_moment(problem: Problem, eta):
    r"""G_eta = E_eta [1; xi][1; xi]^T, shape (p + 1, p + 1)."""
    mu = jnp.asarray(problem.mu_xi)
    p = mu.shape[0]
    mean = problem.law.mean_scale(eta) * mu
    top = jnp.concatenate([jnp.ones((1,)), mean])
    lower = problem.sigma_xi2 * jnp.eye(p) + shift_weight(problem, eta) * jnp.outer(mu, mu)
    return jnp.concatenate([top[None, :], jnp.concatenate([mean[:, None], lower], axis=1)], axis=0)


def embed(M):
    """diag(1, M^T): the map from [1; xi] to [1; M^T xi]."""
    M = jnp.asarray(M)
    p, k = M.shape
    out = jnp.zeros((k + 1, p + 1), dtype=M.dtype)
    return out.at[0, 0].set(1.0).at[1:, 1:].set(M.T)


def teacher_moment(problem: Problem, eta):
    """M_eta = E_eta w w^T, shape (p_T, p_T)."""
    A = embed(problem.T)
    return A @ augmented_moment(problem, eta) @ A.T


def student_moment(problem: Problem, eta):
    """K_eta = E_eta psi psi^T, shape (p_S, p_S)."""
    A = embed(problem.S)
    return A @ augmented_moment(problem, eta) @ A.T


def cross_moment(problem: Problem, eta):
    """E_eta w psi^T, shape (p_T, p_S)."""
    return embed(problem.T) @ augmented_moment(problem, eta) @ embed(problem.S).T


def projection(problem: Problem, eta):
    r"""P = E_eta[w psi^T] (E_eta psi psi^T)^{-1}: the population least-squares map psi -> w, (p_T, p_S)."""
    K = student_moment(problem, eta)
    return jnp.linalg.solve(K, cross_moment(problem, eta).T).T
