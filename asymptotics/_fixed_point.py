r"""The resolvent fixed point of the exact theory, with Newton's method and implicit derivatives.

For features :math:`v = A_v x` (:math:`x = [1;\zeta]` a Gaussian mixture, see
:mod:`._quadrature`) and a ratio :math:`\gamma` (:math:`d_z/n` or :math:`d_z/N`) it solves, for a
symmetric positive-definite :math:`\tilde B`,

.. math:: \tilde B^{-1} = E\Big[\frac{vv^\top}{s + \gamma v^\top\tilde Bv}\Big] + c\,I .

With :math:`(s, c) = (1, \lambda)` this is the ridge resolvent equation :math:`B^{-1} = E[vv^\top/(1+
\gamma v^\top Bv)] + \lambda I` (valid for :math:`\gamma p < 1` at :math:`\lambda = 0`); with
:math:`(s, c) = (\lambda, 1)` it is the same equation for :math:`\tilde B = \lambda B`, which stays
finite as :math:`\lambda\to0` when :math:`\gamma p > 1` (the min-norm limit). See docs/theory.md.

The root is found by Newton's method on :math:`\Phi(\tilde B) = \tilde B - (F(\tilde B) + cI)^{-1}`
with the exact Jacobian, started from an isotropic guess; if that fails (it can leave the basin
for strongly separated groups near :math:`\gamma p = 1`) it restarts from the monotone iteration
:math:`\tilde B_{j+1} = (F(\tilde B_j) + cI)^{-1}`, :math:`\tilde B_0 = 0`, which increases to the
fixed point whenever :math:`s > 0`. ``jax.lax.custom_root`` makes the solution differentiable by the implicit
function theorem (no differentiation through the iterations). A solve that does not reach the
tolerance raises at run time (``equinox.error_if``), under ``jit`` and ``vmap`` alike.
"""

from __future__ import annotations

from typing import NamedTuple

import equinox as eqx
import jax
import jax.numpy as jnp

from ._quadrature import GaussianMixture, weighted_moments

__all__ = ["Resolvent", "solve_resolvent", "resolvent_operator"]

MAX_ITER = 80
TOL = 1e-13
# The monotone fallback (see solve_resolvent) runs until its relative step is below FP_SWITCH.
FP_SWITCH = 1e-6
FP_MAX_ITER = 20_000


class Resolvent(NamedTuple):
    r"""A solved fixed point and what the risks need from it.

    Attributes:
        B: :math:`\tilde B`, ``(k, k)``.
        E1x, E2x: :math:`E[xx^\top/(s+q)]`, :math:`E[xx^\top/(s+q)^2]` in x-space, ``(n, n)``.
        E4x: :math:`E[x^{\otimes 4}/(s+q)^2]`, ``(n, n, n, n)``.
        H: :math:`(\tilde B^{-1}\otimes\tilde B^{-1} - \gamma W_4)^{-1}`, ``(k*k, k*k)``: the
            derivative operator, :math:`X = H\,\mathrm{vec}(C)` solves :math:`X = \tilde B(C +
            \gamma E[vv^\top v^\top Xv/(s+q)^2])\tilde B`.
    """

    B: jnp.ndarray
    E1x: jnp.ndarray
    E2x: jnp.ndarray
    E4x: jnp.ndarray
    H: jnp.ndarray


def _moments_v(law, Av, gamma, B, s):
    A = gamma * (Av.T @ B @ Av)
    E1, E2, E4 = weighted_moments(law, A, s)
    return E1, E2, E4


def _w4(Av, E4, gamma):
    k = Av.shape[0]
    W = gamma * jnp.einsum("ia,jb,kc,ld,abcd->ijkl", Av, Av, Av, Av, E4)
    return W.reshape(k * k, k * k)


def _scalar_guess(M, gamma, s, c):
    r"""Initial guess from the isotropic surrogate :math:`v^\top\tilde Bv \approx \alpha/\gamma`:
    :math:`\tilde B_0 = (M/(s+\alpha) + cI)^{-1}` with :math:`\alpha = \gamma\,\mathrm{tr}(M\tilde B_0)`
    (solved by bisection on :math:`\log\alpha`)."""
    ev = jnp.linalg.eigvalsh(M)

    def g(la):
        al = jnp.exp(la)
        return gamma * jnp.sum(ev / (ev / (s + al) + c)) - al

    def body(_, lohi):
        lo, hi = lohi
        mid = 0.5 * (lo + hi)
        pos = g(mid) > 0
        return jnp.where(pos, mid, lo), jnp.where(pos, hi, mid)

    lo, hi = jax.lax.fori_loop(0, 90, body, (jnp.asarray(-40.0), jnp.asarray(40.0)))
    al = jnp.exp(0.5 * (lo + hi))
    k = M.shape[0]
    return jnp.linalg.inv(M / (s + al) + c * jnp.eye(k))


def solve_resolvent(law: GaussianMixture, Av, gamma, s, c) -> Resolvent:
    r"""Solve :math:`\tilde B^{-1} = E[vv^\top/(s+\gamma v^\top\tilde Bv)] + cI`, :math:`v = A_v x`.

    Args:
        law: the law of :math:`x`.
        Av: ``(k, n)`` map from :math:`x` to the features :math:`v`.
        gamma: the dimension ratio (> 0; 0 is allowed and gives :math:`(E vv^\top/s + cI)^{-1}`).
        s, c: the parametrisation (see module docstring); :math:`s + \gamma v^\top\tilde Bv > 0`.

    Returns:
        A :class:`Resolvent`; raises at run time if Newton's method does not converge.
    """
    k = Av.shape[0]
    Ix = jnp.eye(k)
    M = Av @ law.moment() @ Av.T

    def residual(B):
        E1, _, _ = _moments_v(law, Av, gamma, B, s)
        Y = Av @ E1 @ Av.T + c * Ix
        return B - jnp.linalg.inv(Y)

    def fixed_point_map(B):
        E1, _, _ = _moments_v(law, Av, gamma, B, s)
        Yi = jnp.linalg.inv(Av @ E1 @ Av.T + c * Ix)
        return 0.5 * (Yi + Yi.T)

    def monotone_start(active):
        # T(B) = (E[vv^T/(s + gamma v^T B v)] + cI)^{-1} is order-preserving, and T(0) >= 0, so
        # B_{j+1} = T(B_j) from B_0 = 0 increases to the fixed point (linearly, at a rate near
        # gamma * dim): slow but sure. Run it until steps are small, then hand back to Newton.
        # (``active`` False: return at once. Loops, not lax.cond, so that vmap stays cheap.)
        def body(state):
            B, _, it = state
            Bn = fixed_point_map(B)
            return Bn, jnp.max(jnp.abs(Bn - B)) / jnp.max(jnp.abs(Bn)), it + 1

        def cond(state):
            _, change, it = state
            return active & (change > FP_SWITCH) & (it < FP_MAX_ITER)

        B1 = jnp.linalg.inv(M / jnp.where(active, s, 1.0) + c * Ix)  # T(0)
        B, _, _ = jax.lax.while_loop(cond, body, (B1, jnp.asarray(jnp.inf), 0))
        return B

    def newton(f, B0):
        B, err = newton_from(B0, True)
        # Newton from the isotropic guess can leave the basin (strongly separated groups near
        # gamma p = 1); then restart it from the monotone iteration, which cannot (s > 0).
        retry = ~(jnp.isfinite(err) & (err <= TOL)) & (s > 0)
        B2, err2 = newton_from(monotone_start(retry), retry)
        B, err = jnp.where(retry, B2, B), jnp.where(retry, err2, err)
        ok = jnp.isfinite(err) & (err <= TOL)
        return eqx.error_if(B, ~ok, "exact theory: the resolvent fixed point did not converge")

    def newton_from(B0, active):
        def step(state):
            B, _, it, _ = state
            E1, _, E4 = _moments_v(law, Av, gamma, B, s)
            Y = Av @ E1 @ Av.T + c * Ix
            Yi = jnp.linalg.inv(Y)
            Yi = 0.5 * (Yi + Yi.T)
            Phi = B - Yi
            J = jnp.eye(k * k) - jnp.kron(Yi, Yi) @ _w4(Av, E4, gamma)
            d = -jnp.linalg.solve(J, Phi.reshape(-1)).reshape(k, k)
            d = 0.5 * (d + d.T)
            # keep the iterate positive definite: the longest step in 1, 1/2, ..., 1/2^11 that is
            steps = 0.5 ** jnp.arange(12.0)
            mins = jnp.min(jnp.linalg.eigvalsh(B[None] + steps[:, None, None] * d[None]), axis=-1)
            a = jnp.where(jnp.any(mins > 0), steps[jnp.argmax(mins > 0)], 0.0)  # no PD step: stay
            err = jnp.max(jnp.abs(Phi)) / jnp.max(jnp.abs(B))
            return B + a * d, err, it + 1, a

        def cond(state):
            _, err, it, a = state
            return (err > TOL) & (it < MAX_ITER) & (a > 0)

        err0 = jnp.where(active, jnp.inf, 0.0)
        B, err, _, _ = jax.lax.while_loop(cond, step, (B0, err0, 0, jnp.asarray(1.0)))
        return B, err

    def tangent_solve(g, y):
        Jg = jax.jacfwd(g)(jnp.zeros_like(y)).reshape(k * k, k * k)
        return jnp.linalg.solve(Jg, y.reshape(-1)).reshape(y.shape)

    B0 = _scalar_guess(M, gamma, s, c)
    B = jax.lax.custom_root(residual, B0, newton, tangent_solve)
    E1x, E2x, E4x = _moments_v(law, Av, gamma, B, s)
    Bi = jnp.linalg.inv(B)
    H = jnp.linalg.inv(jnp.kron(Bi, Bi) - _w4(Av, E4x, gamma))
    H = 0.5 * (H + H.T)
    return Resolvent(B, E1x, E2x, E4x, H)


def resolvent_operator(res: Resolvent, C):
    r""":math:`X = H\,\mathrm{vec}(C)`, the directional derivative :math:`-d\tilde B/d\tau` along
    :math:`\tilde B^{-1} \mathrel{+}= \tau C`, shape like ``C``."""
    k = C.shape[0]
    return (res.H @ C.reshape(-1)).reshape(k, k)
