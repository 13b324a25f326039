r"""Sampling the data model :math:`D(\eta)` of docs/theory.md, section 1, streamed in chunks.

A labeled sample set is represented by a :class:`Design`: a function that generates the
``c``-th chunk of ``m`` rows from ``jax.random.fold_in(key, c)``. Rows are the core features
:math:`z_i \in \mathbb R^{d_z}`, the low-dimensional group features :math:`f_i \in \mathbb R^{p}`
(``w = [1; T^\top\xi]`` for the teacher, ``psi = [1; S^\top\xi]`` for the student) and the
label; the regression feature is :math:`z_i \otimes f_i`, never formed. The same chunk is
produced whether it is generated on the fly (streaming, memory :math:`O(m\,d_z)`) or once and
cached (:func:`materialise`), so caching changes speed and memory, not the sample.

``z`` is drawn and kept in float32 (half the memory traffic of the solver's passes; the
sampler's exact moments are in :mod:`._random`); everything computed from it (labels,
pseudolabels, the solves) is float64, on the float32 values converted exactly.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

from setting.problem import Problem

from ._random import join64, normal_from_bits, random_bits, uniform_from_bits

# Rows per chunk: about 4 Mi floats (16 MiB in float32) of z. A function of d_z only, so the
# samples a seed produces do not depend on the machine or on whether chunks are cached.
CHUNK_FLOATS = 1 << 22
# Rows of a cached design are reduced in blocks of about this many floats (2 MiB once converted
# to float64), small enough to stay in cache between the two products of a CG pass (CPU). Chunks are a whole
# number of blocks, so the blocking never changes the samples.
BLOCK_FLOATS = 1 << 18


def sample_group_features(problem: Problem, eta, n: int, *, key: jax.Array) -> jax.Array:
    r"""``n`` i.i.d. group features :math:`\xi \in \mathbb R^p` from :math:`D(\eta)` (docs/theory.md, section 1).

    The law is the problem's group model (:mod:`setting.groups`), for the built-in ones:

    * mixture: :math:`g \sim \mathrm{Bern}(\eta)`, :math:`\xi \mid g \sim N(g\mu_\xi, \sigma_\xi^2 I_p)`;
    * mean-shift: :math:`\xi \sim N(\eta\mu_\xi, \sigma_\xi^2 I_p)`.

    Args:
        problem: the setting (``group_model``, ``mu_xi`` of shape ``(p,)``, ``sigma_xi2``).
        eta: minority fraction in [0, 1] (may be traced).
        n: number of samples (static).
        key: a ``jax.random.key``.

    Returns:
        ``xi`` of shape ``(n, p)``, float64.
    """
    k_group, k_noise = jax.random.split(key)
    noise = jax.random.normal(k_noise, (n, problem.p), dtype=jnp.float64)
    return _group_features(problem, eta, jax.random.uniform(k_group, (n,), dtype=jnp.float64), noise)


def _group_features(problem: Problem, eta, u: jax.Array, noise: jax.Array) -> jax.Array:
    """xi = s mu_xi + sigma_xi noise from uniforms ``u`` (n,) and standard normals ``noise`` (n, p): the scale
    s is the group law's component j = sum_k 1{u < t_k} (:meth:`setting.groups.GroupLaw.tails`; for the mixture
    this is the group draw g = 1{u < eta})."""
    mu = jnp.asarray(problem.mu_xi, dtype=jnp.float64)
    noise = jnp.sqrt(problem.sigma_xi2) * noise
    law = problem.law
    _, scales = law.components(eta)
    scales = jnp.stack([jnp.asarray(a, dtype=jnp.float64) for a in scales])
    j = sum(((u < t).astype(jnp.int32) for t in law.tails(eta)), start=jnp.zeros(u.shape, dtype=jnp.int32))
    return scales[j][:, None] * mu[None, :] + noise


def _draw(problem: Problem, eta, key: jax.Array, m: int, extra: int):
    r"""One chunk's randomness from a single call of the Threefry stream (:mod:`._random`):
    ``z`` (m, d_z) float32 standard normals, ``xi`` (m, p) float64 from D(eta) and ``extra``
    more float64 standard normal columns. The float64 draws and the group uniform take 64 bits
    each (two 32-bit words); the group draw is g = 1{u < eta}."""
    d, p = problem.d_z, problem.p
    k = p + extra + 1
    bits = random_bits(key, (m, d + 2 * k))
    Z = normal_from_bits(bits[:, :d])
    words = join64(bits[:, d : d + k], bits[:, d + k :])
    normals = normal_from_bits(words[:, :-1])
    group_u = uniform_from_bits(words[:, -1], 0.0, 1.0)
    return Z, _group_features(problem, eta, group_u, normals[:, :p]), normals[:, p:]


def group_map(xi: jax.Array, M) -> jax.Array:
    r"""``[1; M^\top\xi]`` row-wise: ``(n, p) -> (n, 1 + k)`` for ``M`` of shape ``(p, k)``."""
    M = jnp.asarray(M, dtype=jnp.float64)
    return jnp.concatenate([jnp.ones((xi.shape[0], 1), dtype=xi.dtype), xi @ M], axis=1)


class Design(NamedTuple):
    """``n`` regression rows :math:`(z_i \\otimes f_i, y_i)` generated ``m`` at a time.

    ``chunk(c)`` returns ``(Z, F, y)`` of shapes ``(m, d)`` (float32), ``(m, p)``, ``(m,)`` (float64) for rows
    ``c*m .. c*m + m - 1``; rows ``>= n`` (padding of the last chunk) have ``F = 0`` and
    ``y = 0``, so they contribute nothing. ``arrays`` holds all chunks, stacked, once
    :func:`materialise` d.
    """

    chunk: Callable[[Any], tuple[jax.Array, jax.Array, jax.Array]]
    n: int
    m: int
    n_chunks: int
    d: int
    p: int
    arrays: tuple[jax.Array, jax.Array, jax.Array] | None = None

    def mask(self) -> jax.Array:
        """``(n_chunks, m)`` boolean: which slots are real rows."""
        return (jnp.arange(self.n_chunks * self.m) < self.n).reshape(self.n_chunks, self.m)

    def nbytes(self) -> int:
        """Bytes a materialised copy holds (``z`` float32, the rest float64)."""
        return design_bytes(self.d, self.p, self.n_chunks * self.m)


def design_bytes(d: int, p: int, rows: int) -> int:
    """Bytes of ``rows`` design rows: float32 ``z`` (d), float64 ``f`` (p) and label."""
    return rows * (4 * d + 8 * (p + 1))


def block_rows(d: int) -> int:
    """Rows per reduction block of a cached design (see :data:`BLOCK_FLOATS`)."""
    return max(1, BLOCK_FLOATS // d)


def chunk_rows(d: int, n: int) -> int:
    """Rows per chunk for dimension ``d`` and ``n`` rows in all (a function of ``d`` and ``n`` only):
    all ``n`` in one chunk if they fit in :data:`CHUNK_FLOATS` floats of ``z``, else the fewest
    chunks that do, of equal size rounded up to whole blocks (so padding is under a block per chunk)."""
    base = max(1, CHUNK_FLOATS // d)
    if n <= base:
        return n
    b = block_rows(d)
    per_chunk = -(-n // -(-n // base))
    return b * -(-per_chunk // b)


def materialise(design: Design) -> Design:
    """Generate every chunk once and keep it (same values as streaming).

    Chunks are generated one after another (``lax.map``), so the sampling temporaries stay
    one chunk in size and the peak is the kept arrays plus a chunk."""
    arrays = jax.lax.map(design.chunk, jnp.arange(design.n_chunks))
    return design._replace(arrays=arrays)


def _masked(c, m: int, n: int, F, y):
    keep = (c * m + jnp.arange(m)) < n
    return jnp.where(keep[:, None], F, 0.0), jnp.where(keep, y, 0.0)


def teacher_design(problem: Problem, beta: jax.Array, n: int, *, key: jax.Array) -> Design:
    r"""The teacher's labeled set: ``n`` rows from :math:`D(\eta_l)`, features ``z ⊗ [1; T^T xi]``,
    labels :math:`y = z^\top\beta^* + \varepsilon`, :math:`\varepsilon \sim N(0, \sigma_y^2)`."""
    d = problem.d_z
    m = chunk_rows(d, n)

    def chunk(c):
        Z, xi, eps = _draw(problem, problem.eta_l, jax.random.fold_in(key, c), m, 1)
        W = group_map(xi, problem.T)
        y = Z.astype(jnp.float64) @ beta + jnp.sqrt(problem.sigma_y2) * eps[:, 0]
        W, y = _masked(c, m, n, W, y)
        return Z, W, y

    return Design(chunk, n, m, -(-n // m), d, problem.p_T)


def student_design(problem: Problem, theta_teacher: jax.Array, N: int, *, key: jax.Array) -> Design:
    r"""The student's pseudolabeled set: ``N`` rows from :math:`D(\eta_u)`, features
    ``z ⊗ [1; S^T xi]``, labels the teacher's real-valued predictions :math:`z^\top\Theta_T w`."""
    d = problem.d_z
    m = chunk_rows(d, N)

    def chunk(c):
        Z, xi, _ = _draw(problem, problem.eta_u, jax.random.fold_in(key, c), m, 0)
        u = jnp.sum((Z.astype(jnp.float64) @ theta_teacher) * group_map(xi, problem.T), axis=1)
        Psi, u = _masked(c, m, N, group_map(xi, problem.S), u)
        return Z, Psi, u

    return Design(chunk, N, m, -(-N // m), d, problem.p_S)
