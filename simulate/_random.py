r"""JAX's own Threefry-2x32 random stream, compiled unrolled, and its uniforms and normals.

``jax.random`` lowers the Threefry-2x32 hash on CPU as a *rolled* five-step loop (to save
compile time). XLA cannot fuse across the loop, so every step writes and re-reads whole
arrays and large draws become memory-bound. The same hash written out round by round (as JAX
itself lowers it on other backends) fuses into one elementwise kernel and is several times
faster on CPU (``make bench`` times both: ``sampling_normals``).

The functions here reproduce ``jax.random`` *bit for bit* (tests pin this for 32- and 64-bit
bits, uniforms and normals, with ``jax_threefry_partitionable`` on, JAX's default): they are
the same random numbers, only compiled differently. Threefry-2x32 with 20 rounds is the
counter-based generator of Salmon et al., "Parallel random numbers: as easy as 1, 2, 3"
(SC 2011); normals are :math:`\sqrt2\,\mathrm{erf}^{-1}(u)` with ``u`` uniform on
``[nextafter(-1, 0), 1)``, exactly as :func:`jax.random.normal` makes them.

float32 normals take 23 random mantissa bits, so they have :math:`2^{23}` equally likely
values; :func:`float32_normal_moments` enumerates them to give the exact moments of what is
sampled (mean and variance within :math:`10^{-6}` of 0 and 1, range inside
:math:`[-5.5, 5.3]`: the tests check these bounds).
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np

_ROTATIONS = ((13, 15, 26, 6), (17, 29, 16, 24))
_PARITY = np.uint32(0x1BD11BDA)


def _rotl(x: jax.Array, r: int) -> jax.Array:
    return (x << np.uint32(r)) | (x >> np.uint32(32 - r))


def threefry2x32(k1, k2, x1: jax.Array, x2: jax.Array) -> tuple[jax.Array, jax.Array]:
    """The Threefry-2x32 block cipher (20 rounds) on counter words ``(x1, x2)`` under key ``(k1, k2)``.

    Unrolled with constant rotations; equal to JAX's ``threefry2x32`` primitive."""
    ks = (k1, k2, k1 ^ k2 ^ _PARITY)
    x1 = x1 + ks[0]
    x2 = x2 + ks[1]
    for i in range(5):
        for r in _ROTATIONS[i % 2]:
            x1 = x1 + x2
            x2 = _rotl(x2, r) ^ x1
        x1 = x1 + ks[(i + 1) % 3]
        x2 = x2 + ks[(i + 2) % 3] + np.uint32(i + 1)
    return x1, x2


def random_bits(key: jax.Array, shape: tuple[int, ...], width: int = 32) -> jax.Array:
    """Uniform random ``uint32`` (``width=32``) or ``uint64`` (``width=64``) bits of ``shape``.

    Equal to ``jax.random.bits(key, shape, dtype=uint{width})`` under JAX's default
    (partitionable) Threefry: the counter of element ``i`` (row-major) is the 64-bit ``i``;
    32-bit output is the xor of the two hash words, 64-bit output their concatenation.
    """
    if width not in (32, 64):
        raise ValueError(f"width: must be 32 or 64, got {width!r}")
    size = math.prod(shape)
    if size >= 2**32:
        raise ValueError(f"shape: at most 2**32 - 1 elements per call, got {size}")
    k1, k2 = jax.random.key_data(key)
    counts = jax.lax.iota(np.uint32, size).reshape(shape)
    b1, b2 = threefry2x32(k1, k2, jnp.zeros_like(counts), counts)
    if width == 32:
        return b1 ^ b2
    return join64(b1, b2)


def join64(hi: jax.Array, lo: jax.Array) -> jax.Array:
    """The ``uint64`` words ``hi * 2**32 + lo`` from two ``uint32`` arrays (JAX's 64-bit layout)."""
    return (hi.astype(np.uint64) << np.uint64(32)) | lo.astype(np.uint64)


def uniform_from_bits(bits: jax.Array, lo, hi) -> jax.Array:
    """Uniform floats on ``[lo, hi)`` from ``uint32`` (float32) or ``uint64`` (float64) bits,
    exactly as :func:`jax.random.uniform`: the top mantissa bits under exponent 0 give
    ``[1, 2)``, shifted to ``[0, 1)`` and scaled."""
    dtype = {np.dtype(np.uint32): np.float32, np.dtype(np.uint64): np.float64}[np.dtype(bits.dtype)]
    finfo = np.finfo(dtype)
    nbits, nmant = finfo.bits, finfo.nmant
    one = np.array(1.0, dtype).view(bits.dtype)
    floats = jax.lax.bitcast_convert_type((bits >> bits.dtype.type(nbits - nmant)) | one, dtype) - dtype(1.0)
    lo, hi = jnp.asarray(lo, dtype), jnp.asarray(hi, dtype)
    return jnp.maximum(lo, floats * (hi - lo) + lo)


def normal_from_bits(bits: jax.Array) -> jax.Array:
    r"""Standard normals :math:`\sqrt2\,\mathrm{erf}^{-1}(u)` from random bits, as :func:`jax.random.normal`
    (float32 from ``uint32``, float64 from ``uint64``)."""
    dtype = np.float32 if bits.dtype == np.uint32 else np.float64
    lo = np.nextafter(np.array(-1.0, dtype), np.array(0.0, dtype))
    u = uniform_from_bits(bits, lo, dtype(1.0))
    return np.array(np.sqrt(2), dtype) * jax.lax.erf_inv(u)


def normal(key: jax.Array, shape: tuple[int, ...], dtype=np.float32) -> jax.Array:
    """``jax.random.normal(key, shape, dtype)`` (float32 or float64), compiled unrolled."""
    width = 32 if np.dtype(dtype) == np.float32 else 64
    return normal_from_bits(random_bits(key, shape, width))


def float32_normal_moments() -> dict[str, float]:
    """Exact moments of the float32 normal sampler, by enumerating its :math:`2^{23}` equally likely values.

    Returns ``mean``, ``var`` (central), ``kurtosis`` (:math:`E z^4 / \\mathrm{var}^2`), ``min``, ``max``;
    a standard normal has 0, 1, 3, -inf, inf.
    """
    mant = np.arange(2**23, dtype=np.uint32) << np.uint32(9)  # every value of the top 23 bits
    z = np.asarray(normal_from_bits(jnp.asarray(mant)), dtype=np.float64)
    mean = z.mean()
    var = np.mean((z - mean) ** 2)
    return {
        "mean": float(mean),
        "var": float(var),
        "kurtosis": float(np.mean((z - mean) ** 4) / var**2),
        "min": float(z.min()),
        "max": float(z.max()),
    }
