r"""Matrix-free ridge / min-norm regression on Kronecker features :math:`z \otimes f`.

The parameter is a matrix :math:`\Theta \in \mathbb R^{d\times p}` and the prediction for row
:math:`i` is :math:`z_i^\top \Theta f_i = \langle \Theta, z_i f_i^\top\rangle`, so with the
design :math:`X` (rows :math:`z_i \otimes f_i`, never formed)

.. math:: X\Theta = \mathrm{rowsum}((Z\Theta) \circ F), \qquad X^\top v = Z^\top (v \circ F).

The estimator minimises :math:`\frac1n\|y - X\theta\|^2 + \lambda\|\theta\|^2`:

* **primal** (used when :math:`n \ge dp`): preconditioned conjugate gradients on
  :math:`(X^\top X/n + \lambda I)\Theta = X^\top y/n`, preconditioner
  :math:`\Theta \mapsto \Theta(\hat W + \lambda I)^{-1}`, :math:`\hat W = F^\top F/n`
  (the Gram's expectation given :math:`F` is :math:`\hat W \otimes I`, so what is left is the
  Marchenko-Pastur spread, and CG needs a few tens of passes);
* **dual** (used when :math:`n < dp`, the over-parameterised regime): CG with a Jacobi
  preconditioner on :math:`(XX^\top + n\lambda I)\alpha = y`, :math:`\Theta = X^\top\alpha`.
  With :math:`\lambda = 0` this is the minimum-norm interpolant; the kernel matrix is
  nonsingular, so the preconditioner does not change the solution.

Both systems are nonsingular (almost surely) in the regime where they are used, so the
answer is the unique ridge solution, or the min-norm least-squares solution when
:math:`\lambda = 0`. Convergence is judged on the true relative residual
:math:`\|b - A x\|/\|b\|`, recomputed after the iteration; :class:`SolveInfo` reports it.

A cached primal system (the common case: every trial of ``make bench`` and the figures) is
solved by mixed-precision iterative refinement (:func:`refine`): float32 PCG on the stored
float32 ``z`` for the corrections, float64 residuals. The answer is the float64 solution to
the same residual target; only the work moves to float32 passes over whole arrays, about
twice as fast per pass as the cache-blocked float64 ones on the project's 2-core CPU (measured
at d_z = 256 and 2048). Streamed designs and the dual form use float64 PCG.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from ._sampling import Design, block_rows

DEFAULT_TOL = 1e-10
DEFAULT_MAXITER = 1000
SLACK = 10.0  # a solve converged when its true relative residual is <= SLACK * tol (rounding)


class SolveInfo(NamedTuple):
    """Diagnostics of one solve: CG ``iterations``, true relative ``residual``, ``converged``."""

    iterations: jax.Array
    residual: jax.Array
    converged: jax.Array


def _f64(fn):
    # z is stored in float32; every product runs in float64 on the exactly converted values
    # (converted block by block, so the float64 copy of a block lives only in cache).
    return lambda Z, *rest: fn(Z.astype(jnp.float64), *rest)


def chunk_reduce(design: Design, fn, *extra):
    """``sum_c fn(Z_c, F_c, y_c, *extra_c)``; ``extra`` arrays have a leading chunk axis; ``Z_c`` float64."""
    fn = _f64(fn)
    if design.arrays is not None:
        b = math.gcd(design.m, block_rows(design.d))  # blocks must tile the chunks
        if jax.default_backend() != "cpu" or b >= design.m or b < block_rows(design.d) // 8:
            out = jax.vmap(fn)(*design.arrays, *extra)
            return jax.tree_util.tree_map(lambda a: jnp.sum(a, axis=0), out)
        # CPU: loop over cache-sized blocks so both products of a pass read z from cache,
        # not from memory (measured about 1.6x faster per pass than whole chunks).
        nb = design.n_chunks * (design.m // b)
        blocks = [a.reshape(nb, b, *a.shape[2:]) for a in (*design.arrays, *extra)]

        def term(c):
            return fn(*(jax.lax.dynamic_index_in_dim(a, c, keepdims=False) for a in blocks))

        n_terms = nb
    else:

        def term(c):
            return fn(*design.chunk(c), *(e[c] for e in extra))

        n_terms = design.n_chunks

    init = jax.tree_util.tree_map(lambda s: jnp.zeros(s.shape, s.dtype), jax.eval_shape(term, 0))
    return jax.lax.fori_loop(0, n_terms, lambda c, acc: jax.tree_util.tree_map(jnp.add, acc, term(c)), init)


def chunk_map(design: Design, fn, *extra):
    """``stack_c fn(Z_c, F_c, y_c, *extra_c)``, leading axis the chunk index; ``Z_c`` float64."""
    fn = _f64(fn)
    if design.arrays is not None:
        return jax.vmap(fn)(*design.arrays, *extra)
    return jax.lax.map(lambda c: fn(*design.chunk(c), *(e[c] for e in extra)), jnp.arange(design.n_chunks))


def _predict(Z, F, theta):
    return jnp.sum((Z @ theta) * F, axis=1)


def _gram_whole(Z, F, theta):
    """``Z^T ((Z theta) F 1 * F)`` on whole arrays: the row products as one matrix product, the
    column sums as an elementwise reduction (XLA:CPU's matrix product contracting the long axis
    is several times slower than the fused reduction, measured in float32)."""
    v = _predict(Z, F, theta)
    return jnp.stack([jnp.sum(Z * (v * F[:, a])[:, None], axis=0) for a in range(F.shape[1])], axis=1)


def pcg(A, b, precondition, *, tol: float, maxiter: int):
    """Preconditioned conjugate gradients from zero for SPD ``A``; arrays of any shape.

    Stops when the recursively updated residual satisfies ``||r|| <= tol ||b||`` or after
    ``maxiter`` iterations; returns ``(x, iterations)``. ``b = 0`` returns ``x = 0``.
    """
    bnorm = jnp.linalg.norm(b)
    x = jnp.zeros_like(b)
    z = precondition(b)
    state = (jnp.asarray(0), x, b, z, jnp.vdot(b, z))

    def cond(s):
        k, _, r, _, _ = s
        return (k < maxiter) & (jnp.linalg.norm(r) > tol * bnorm)

    def body(s):
        k, x, r, p, rz = s
        Ap = A(p)
        alpha = rz / jnp.vdot(p, Ap)
        x = x + alpha * p
        r = r - alpha * Ap
        z = precondition(r)
        rz_new = jnp.vdot(r, z)
        return k + 1, x, r, z + (rz_new / rz) * p, rz_new

    k, x, _, _, _ = jax.lax.while_loop(cond, body, state)
    return x, k


# Mixed-precision iterative refinement: each correction is solved by float32 PCG to this
# relative residual (float32 CG reaches it reliably for condition numbers far above the
# simulator's, about 2 for the student and 20 for the teacher), at most MAX_REFINE times.
INNER_TOL = 1e-5
MAX_REFINE = 12


def refine(A, A32, b, precondition32, *, tol: float, maxiter: int):
    r"""Solve SPD :math:`Ax = b` to true relative residual ``tol`` by iterative refinement.

    :math:`r_k = b - Ax_k` in float64 (``A``), the correction :math:`Ae_k = r_k` by float32
    PCG (``A32``, ``precondition32``) to relative residual :data:`INNER_TOL`, then
    :math:`x_{k+1} = x_k + e_k`. Each step cuts the residual by about ``INNER_TOL`` (the
    float32 operator's own error, about :math:`10^{-7}\kappa`, is smaller), so 1e-10
    takes two or three float64 passes where plain CG needs one per iteration.
    (Wilkinson's refinement; Carson & Higham, SIAM J. Sci. Comput. 40 (2018) A817.)

    Stops when :math:`\|b - Ax\| \le tol\,\|b\|` (computed in float64, so the reported
    residual is the true one), after :data:`MAX_REFINE` corrections, or once ``maxiter`` float32
    CG iterations are spent in all. Returns ``(x, SolveInfo)`` (iterations: float32 CG
    iterations in all).
    """
    bnorm = jnp.linalg.norm(b)
    zero = jnp.asarray(0)

    def cond(s):
        k, its, _, r = s
        return (k < MAX_REFINE) & (its < maxiter) & (jnp.linalg.norm(r) > tol * bnorm)

    def body(s):
        k, its, x, r = s
        rnorm = jnp.linalg.norm(r)
        e, j = pcg(A32, (r / rnorm).astype(jnp.float32), precondition32, tol=INNER_TOL, maxiter=maxiter - its)
        x = x + rnorm * e.astype(x.dtype)
        return k + 1, its + j, x, b - A(x)

    _, its, x, r = jax.lax.while_loop(cond, body, (zero, zero, jnp.zeros_like(b), b))
    res = jnp.where(bnorm > 0, jnp.linalg.norm(r) / jnp.where(bnorm > 0, bnorm, 1.0), 0.0)
    return x, SolveInfo(its, res, res <= SLACK * tol)


def _info(k, A, x, b, tol):
    bnorm = jnp.linalg.norm(b)
    res = jnp.where(bnorm > 0, jnp.linalg.norm(A(x) - b) / jnp.where(bnorm > 0, bnorm, 1.0), 0.0)
    # The recursive residual reached tol; the true one is allowed the rounding slack.
    return SolveInfo(k, res, res <= SLACK * tol)


def ridge_fit(design: Design, lam, *, dual: bool, tol: float = DEFAULT_TOL, maxiter: int = DEFAULT_MAXITER):
    r"""Ridge (:math:`\lambda > 0`) or min-norm (:math:`\lambda = 0`) fit on ``design``.

    Solves :math:`\min_\Theta \frac1n\sum_i (y_i - z_i^\top\Theta f_i)^2 + \lambda\|\Theta\|_F^2`.

    Args:
        design: the rows (see :class:`simulate._sampling.Design`), ``n`` of them.
        lam: ridge penalty :math:`\lambda \ge 0` (may be traced).
        dual: solve in the kernel form (required for the min-norm fit when ``n < d p``).
        tol: relative-residual target (float64, true residual).
        maxiter: CG iteration cap (float32 iterations in all when refining).

    Returns:
        ``(Theta, info)``: ``Theta`` of shape ``(d, p)`` and a :class:`SolveInfo`.

    Cached primal designs are solved by :func:`refine`; streamed ones and the dual form by
    float64 :func:`pcg`.
    """
    n, p = design.n, design.p
    if not dual:
        b, What = chunk_reduce(design, lambda Z, F, y: (Z.T @ (y[:, None] * F), F.T @ F))
        b, What = b / n, What / n
        P = jnp.linalg.inv(What + lam * jnp.eye(p))
        P = 0.5 * (P + P.T)

        def A(theta):
            gram = chunk_reduce(design, lambda Z, F, y: Z.T @ (_predict(Z, F, theta)[:, None] * F))
            return gram / n + lam * theta

        if design.arrays is None:  # streamed: every pass regenerates the rows, so keep passes few
            theta, k = pcg(A, b, lambda R: R @ P, tol=tol, maxiter=maxiter)
            return theta, _info(k, A, theta, b, tol)
        Z32, F32 = design.arrays[0].reshape(-1, design.d), design.arrays[1].reshape(-1, p).astype(jnp.float32)
        lam32, P32 = jnp.asarray(lam, jnp.float32), P.astype(jnp.float32)

        def A32(theta):
            return _gram_whole(Z32, F32, theta) / jnp.float32(n) + lam32 * theta

        return refine(A, A32, b, lambda R: R @ P32, tol=tol, maxiter=maxiter)

    mask = design.mask()
    y = chunk_map(design, lambda Z, F, y: y)
    diag = chunk_map(design, lambda Z, F, y: jnp.sum(Z * Z, axis=1) * jnp.sum(F * F, axis=1)) + n * lam
    diag = jnp.where(mask, diag, 1.0)

    def XT(a):
        return chunk_reduce(design, lambda Z, F, y, a_c: Z.T @ (a_c[:, None] * F), a)

    def K(a):
        # Padding slots get the identity so the system stays nonsingular; their rhs is 0.
        theta = XT(a)
        return chunk_map(design, lambda Z, F, y: _predict(Z, F, theta)) + jnp.where(mask, n * lam * a, a)

    alpha, k = pcg(K, y, lambda r: r / diag, tol=tol, maxiter=maxiter)
    return XT(alpha), _info(k, K, alpha, y, tol)


# ------------------------------------------------------------------------- dense reference
def kron_rows(Z: np.ndarray, F: np.ndarray) -> np.ndarray:
    """The explicit design: row i is ``kron(z_i, f_i)`` (so ``X @ Theta.ravel() = rowsum((Z Theta) F)``)."""
    return (Z[:, :, None] * F[:, None, :]).reshape(Z.shape[0], -1)


def dense_ridge(X: np.ndarray, y: np.ndarray, lam: float) -> np.ndarray:
    r"""Direct dense solve of :math:`\min \frac1n\|y - X\theta\|^2 + \lambda\|\theta\|^2` (min-norm at 0).

    Normal equations :math:`(X^\top X + n\lambda I)\theta = X^\top y` when ``n >= dim``, the kernel
    form :math:`X^\top (XX^\top + n\lambda I)^{-1} y` otherwise (``numpy.linalg.solve``).
    """
    n, dim = X.shape
    if n >= dim:
        return np.linalg.solve(X.T @ X + n * lam * np.eye(dim), X.T @ y)
    return X.T @ np.linalg.solve(X @ X.T + n * lam * np.eye(n), y)
