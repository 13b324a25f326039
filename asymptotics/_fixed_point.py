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
for strongly separated groups near :math:`\gamma p = 1`, and at :math:`s = 0` it can be drawn to
the spurious root :math:`\tilde B = 0` on the boundary of the cone) it restarts from the monotone
iteration :math:`\tilde B_{j+1} = T(\tilde B_j) = (F(\tilde B_j) + cI)^{-1}`: from
:math:`\tilde B_0 = 0`, increasing to the fixed point, when :math:`s > 0`; from the
super-solution :math:`\tilde B_0 = I/c`, decreasing to it, when :math:`s = 0` (docs/theory.md,
E.9). The solution is differentiable by the implicit function theorem (a ``jax.custom_jvp``; no
differentiation through the iterations): at the root,
:math:`d\tilde B = -J^{-1}\,\partial\Phi`, with :math:`J^{-1} = H\,(\tilde B^{-1}\otimes\tilde B^{-1})`
and :math:`H` the derivative operator of :class:`Resolvent`, so a tangent costs one
:math:`k^2\times k^2` solve. A solve that does not reach the tolerance is reported in
``Resolvent.converged``; :func:`checked` turns that into a run-time error (``equinox.error_if``),
under ``jit`` and ``vmap`` alike.
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp

from ._quadrature import GaussianMixture, weighted_moments

__all__ = ["Resolvent", "solve_resolvent", "resolvent_operator", "checked", "NOT_CONVERGED"]

MAX_ITER = 80
TOL = 1e-13
# The monotone fallback (see solve_resolvent) runs until its relative step is below FP_SWITCH.
FP_SWITCH = 1e-6
FP_MAX_ITER = 20_000
# Newton's step is halved at most this many times to keep the iterate positive definite.
HALVINGS = 11
NOT_CONVERGED = "exact theory: the resolvent fixed point did not converge"


class Resolvent(NamedTuple):
    r"""A solved fixed point and what the risks need from it.

    Attributes:
        B: :math:`\tilde B`, ``(k, k)``.
        E1x, E2x: :math:`E[xx^\top/(s+q)]`, :math:`E[xx^\top/(s+q)^2]` in x-space, ``(n, n)``.
        E4x: :math:`E[x^{\otimes 4}/(s+q)^2]`, ``(n, n, n, n)``.
        H: :math:`(\tilde B^{-1}\otimes\tilde B^{-1} - \gamma W_4)^{-1}`, ``(k*k, k*k)``: the
            derivative operator, :math:`X = H\,\mathrm{vec}(C)` solves :math:`X = \tilde B(C +
            \gamma E[vv^\top v^\top Xv/(s+q)^2])\tilde B`.
        converged: whether Newton's method reached the tolerance (boolean scalar).
    """

    B: jnp.ndarray
    E1x: jnp.ndarray
    E2x: jnp.ndarray
    E4x: jnp.ndarray
    H: jnp.ndarray
    converged: jnp.ndarray


def checked(x, converged):
    """``x``, raising at run time (under ``jit`` and ``vmap`` too) where ``converged`` is False."""
    import equinox as eqx  # here, not at the top: the compiled programs never need it

    return eqx.error_if(x, ~converged, NOT_CONVERGED)


def _moments_v(law, Av, gamma, B, s, fourth=True):
    A = gamma * (Av.T @ B @ Av)
    return weighted_moments(law, A, s, fourth=fourth)


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


def _fixed_point_map(law, Av, gamma, s, c, B):
    r""":math:`T(\tilde B) = (A_v E[xx^\top/(s+\gamma v^\top\tilde Bv)]A_v^\top + cI)^{-1}`, symmetrised."""
    E1, _, _ = _moments_v(law, Av, gamma, B, s, fourth=False)
    Yi = jnp.linalg.inv(Av @ E1 @ Av.T + c * jnp.eye(Av.shape[0]))
    return 0.5 * (Yi + Yi.T)


def _pd_step(B, d):
    r"""The longest step :math:`a\in\{1, 1/2, \dots, 2^{-11}\}` with :math:`\tilde B + a\,d \succ 0`, or 0.

    :math:`\tilde B + a d = L(I + a L^{-1}dL^{-\top})L^\top` (:math:`\tilde B = LL^\top`) is positive
    definite iff :math:`1 + a\lambda_{\min} > 0`, :math:`\lambda_{\min}` the least eigenvalue of
    :math:`L^{-1}dL^{-\top}`: one Cholesky factor and one eigendecomposition decide every
    candidate. (A ``B`` that is not positive definite gives NaN, hence no step.)"""
    L = jnp.linalg.cholesky(B)
    solve = jax.scipy.linalg.solve_triangular
    C = solve(L, solve(L, d, lower=True).T, lower=True)
    lam = jnp.linalg.eigvalsh(0.5 * (C + C.T))[0]
    steps = 0.5 ** jnp.arange(HALVINGS + 1.0)
    ok = 1.0 + steps * lam > 0
    return jnp.where(jnp.any(ok), steps[jnp.argmax(ok)], 0.0)


def _newton_from(law, Av, gamma, s, c, B0, active):
    k = Av.shape[0]
    Ix = jnp.eye(k)

    def step(state):
        B, _, it, _ = state
        E1, _, E4 = _moments_v(law, Av, gamma, B, s)
        Yi = jnp.linalg.inv(Av @ E1 @ Av.T + c * Ix)
        Yi = 0.5 * (Yi + Yi.T)
        Phi = B - Yi
        J = jnp.eye(k * k) - jnp.kron(Yi, Yi) @ _w4(Av, E4, gamma)
        d = -jnp.linalg.solve(J, Phi.reshape(-1)).reshape(k, k)
        d = 0.5 * (d + d.T)
        a = _pd_step(B, d)  # keep the iterate positive definite; no such step: stay (and stop)
        err = jnp.max(jnp.abs(Phi)) / jnp.max(jnp.abs(B))
        return B + a * d, err, it + 1, a

    def cond(state):
        _, err, it, a = state
        return (err > TOL) & (it < MAX_ITER) & (a > 0)

    err0 = jnp.where(active, jnp.inf, 0.0)
    B, err, _, _ = jax.lax.while_loop(cond, step, (B0, err0, 0, jnp.asarray(1.0)))
    return B, err


def _monotone_start(law, Av, gamma, s, c, M, active):
    # T(B) = (E[vv^T/(s + gamma v^T B v)] + cI)^{-1} is order-preserving, and T(0) >= 0, so
    # B_{j+1} = T(B_j) from B_0 = 0 increases to the fixed point (linearly): slow but sure (s > 0).
    # Run it until steps are small, then hand back to Newton.
    # (``active`` False: return at once. Loops, not lax.cond, so that vmap stays cheap.)
    def body(state):
        B, _, it = state
        Bn = _fixed_point_map(law, Av, gamma, s, c, B)
        return Bn, jnp.max(jnp.abs(Bn - B)) / jnp.max(jnp.abs(Bn)), it + 1

    def cond(state):
        _, change, it = state
        return active & (change > FP_SWITCH) & (it < FP_MAX_ITER)

    # s = 0 (a min-norm fit past its threshold, c = 1): T(0) is undefined, but T(B) <= I/c for
    # every B, so I/c is a super-solution and the iterates from it decrease to the fixed point.
    k = Av.shape[0]
    above = s <= 0
    below = jnp.linalg.inv(M / jnp.where(active & ~above, s, 1.0) + c * jnp.eye(k))  # T(0)
    B1 = jnp.where(above, jnp.eye(k) / jnp.where(above, c, 1.0), below)
    B, _, _ = jax.lax.while_loop(cond, body, (B1, jnp.asarray(jnp.inf), 0))
    return B


@jax.custom_jvp
def _root(law, Av, gamma, s, c):
    """The fixed point ``B`` and Newton's last relative residual ``err`` (converged: err <= TOL)."""
    M = Av @ law.moment() @ Av.T
    B0 = _scalar_guess(M, gamma, s, c)

    def attempt(i, state):
        # Attempt 0: Newton from the isotropic guess. Attempt 1, only where that failed: Newton
        # from the monotone iteration, which cannot leave the basin; Newton from the guess can
        # (strongly separated groups near gamma p = 1; at s = 0 the spurious root B = 0).
        # One loop, so the solver is compiled once.
        B, err = state
        retry = (i == 1) & ~(jnp.isfinite(err) & (err <= TOL)) & ((s > 0) | (c > 0))
        start = jnp.where(i == 0, B0, _monotone_start(law, Av, gamma, s, c, M, retry))
        B_new, err_new = _newton_from(law, Av, gamma, s, c, start, (i == 0) | retry)
        keep = (i == 1) & ~retry
        return jnp.where(keep, B, B_new), jnp.where(keep, err, err_new)

    return jax.lax.fori_loop(0, 2, attempt, (B0, jnp.asarray(jnp.inf)))


@_root.defjvp
def _root_jvp(primals, tangents):
    # Implicit function theorem on Phi(B, theta) = B - T(B; theta) = 0:
    # dB = -J^{-1} d_theta Phi, J = I - (T kron T) W_4 = (B kron B) H^{-1} at the root (T(B) = B),
    # so dB = -H vec(B^{-1} d_theta Phi B^{-1}) = H vec(B^{-1} d_theta T B^{-1}).
    law, Av, gamma, s, c = primals
    B, err = _root(*primals)
    _, dT = jax.jvp(lambda *args: _fixed_point_map(*args, B), primals, tangents)
    k = B.shape[0]
    Bi = jnp.linalg.inv(B)
    _, _, E4 = _moments_v(law, Av, gamma, B, s)
    Hinv = jnp.kron(Bi, Bi) - _w4(Av, E4, gamma)
    dB = jnp.linalg.solve(Hinv, (Bi @ dT @ Bi).reshape(-1)).reshape(k, k)
    return (B, err), (0.5 * (dB + dB.T), jnp.zeros_like(err))


def solve_resolvent(law: GaussianMixture, Av, gamma, s, c) -> Resolvent:
    r"""Solve :math:`\tilde B^{-1} = E[vv^\top/(s+\gamma v^\top\tilde Bv)] + cI`, :math:`v = A_v x`.

    Args:
        law: the law of :math:`x`.
        Av: ``(k, n)`` map from :math:`x` to the features :math:`v`.
        gamma: the dimension ratio (> 0; 0 is allowed and gives :math:`(E vv^\top/s + cI)^{-1}`).
        s, c: the parametrisation (see module docstring); :math:`s + \gamma v^\top\tilde Bv > 0`.

    Returns:
        A :class:`Resolvent`; ``converged`` is False where Newton's method did not reach the
        tolerance (wrap a result in :func:`checked` to raise there).
    """
    dtype = jnp.result_type(float)
    gamma, s, c = (jnp.asarray(v, dtype=dtype) for v in (gamma, s, c))
    B, err = _root(law, Av, gamma, s, c)
    converged = jnp.isfinite(err) & (err <= TOL)
    E1x, E2x, E4x = _moments_v(law, Av, gamma, B, s)
    Bi = jnp.linalg.inv(B)
    H = jnp.linalg.inv(jnp.kron(Bi, Bi) - _w4(Av, E4x, gamma))
    H = 0.5 * (H + H.T)
    return Resolvent(B, E1x, E2x, E4x, H, converged)


def resolvent_operator(res: Resolvent, C):
    r""":math:`X = H\,\mathrm{vec}(C)`, the directional derivative :math:`-d\tilde B/d\tau` along
    :math:`\tilde B^{-1} \mathrel{+}= \tau C`, shape like ``C``."""
    k = C.shape[0]
    return (res.H @ C.reshape(-1)).reshape(k, k)
