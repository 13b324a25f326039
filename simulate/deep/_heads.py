"""Linear classification heads on frozen features: losses, training, entropy-based selection."""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import optax

from ._backbones import optimizer_update

__all__ = [
    "LinearHead",
    "cross_entropy",
    "entropy",
    "gce",
    "predict_logits",
    "select_confident",
    "predict_logits_many",
    "select_random",
    "train_head",
    "train_heads",
]

F32 = jnp.float32


class LinearHead(eqx.Module):
    """``logits = W f + b`` on a feature vector ``f`` of dimension d; two classes."""

    linear: eqx.nn.Linear

    def __init__(self, dim: int, classes: int = 2, *, key: jax.Array):
        self.linear = eqx.nn.Linear(dim, classes, dtype=F32, key=key)

    def __call__(self, f: jax.Array) -> jax.Array:
        return self.linear(f)


def predict_logits(head: LinearHead, feats: jax.Array) -> jax.Array:
    """``(m, d) -> (m, classes)`` logits."""
    return jax.vmap(head)(feats)


def _targets(y: jax.Array, k: int) -> jax.Array:
    """Int labels ``(m,)`` -> one-hot ``(m, k)``; probability rows ``(m, k)`` pass through."""
    y = jnp.asarray(y)
    return jax.nn.one_hot(y, k, dtype=F32) if y.ndim == 1 else y.astype(F32)


def cross_entropy(logits: jax.Array, y: jax.Array) -> jax.Array:
    r"""Per-example :math:`-\sum_k t_k \log p_k`, ``(m, k), (m,) or (m, k) -> (m,)``.

    ``y`` is either int labels (then :math:`t` is one-hot and the loss :math:`-\log p_y`) or
    target probabilities ``t`` (soft labels, e.g. a teacher's predictive distribution).
    """
    logp = jax.nn.log_softmax(logits, axis=-1)
    return -jnp.sum(_targets(y, logits.shape[-1]).astype(logp.dtype) * logp, axis=-1)


def gce(logits: jax.Array, y: jax.Array, q) -> jax.Array:
    r"""Generalized cross-entropy :math:`L_q = \sum_k t_k (1 - p_k^q)/q`, per example (Zhang & Sabuncu 2018).

    With int labels ``y`` (one-hot :math:`t`) this is :math:`(1 - p_y^q)/q`; with target
    probabilities ``t`` (soft labels) the expectation of it under :math:`t`. Computed as
    :math:`-\mathrm{expm1}(q \log p_k)/q`, accurate for small ``q``, where it tends to the
    cross-entropy; at ``q = 1`` it is :math:`1 - p_y`.

    Args:
        logits: ``(m, k)``.
        y: ``(m,)`` int labels or ``(m, k)`` target probabilities.
        q: scalar in (0, 1].
    """
    logp = jax.nn.log_softmax(logits, axis=-1)
    q = jnp.asarray(q, logp.dtype)
    return jnp.sum(_targets(y, logits.shape[-1]).astype(logp.dtype) * -jnp.expm1(q * logp) / q, axis=-1)


def entropy(logits: jax.Array) -> jax.Array:
    r"""Predictive entropy :math:`-\sum_k p_k \log p_k` of each row, ``(m, k) -> (m,)``."""
    logp = jax.nn.log_softmax(logits, axis=-1)
    return -jnp.sum(jnp.exp(logp) * logp, axis=-1)


def select_confident(scores: jax.Array, p: float) -> jax.Array:
    """Boolean mask of the ``round_half_up(p * m)`` (at least 1) lowest scores; ties go to the lower index.

    Used with ``scores = entropy(student logits)``: keep the fraction ``p`` most confident points.
    """
    from ._data import round_half_up

    m = scores.shape[0]
    k = min(m, max(1, round_half_up(p * m)))
    order = jnp.argsort(scores, stable=True)
    return jnp.zeros(m, bool).at[order[:k]].set(True)


def select_random(m: int, p: float, *, key: jax.Array) -> jax.Array:
    """Boolean mask of a uniformly random subset of the same size as :func:`select_confident` keeps.

    The control of the entropy selection: as many points, chosen without looking at them.
    """
    from ._data import round_half_up

    k = min(m, max(1, round_half_up(p * m)))
    return jnp.zeros(m, bool).at[jax.random.permutation(key, m)[:k]].set(True)


def _fit_body(head, feats, t, weights, use_gce, q, *, steps: int, lr: float, l2: float):
    opt = optax.adam(lr)
    params, static = eqx.partition(head, eqx.is_inexact_array)
    state = opt.init(params)
    wsum = jnp.sum(weights)

    def objective(params):
        h = eqx.combine(params, static)
        logits = predict_logits(h, feats)
        # Both losses are computed and one is chosen at run time: CE and GCE share one program
        # (q is never 0 here: train_head maps q = 0 to the cross-entropy with a dummy q).
        per = jnp.where(use_gce, gce(logits, t, q), cross_entropy(logits, t))
        return jnp.sum(weights * per) / wsum + l2 * jnp.sum(h.linear.weight**2)

    def step(carry, _):
        params, state = carry
        grads = jax.grad(objective)(params)
        updates, state = optimizer_update(opt, grads, state, params)
        return (optax.apply_updates(params, updates), state), None

    (params, _), _ = jax.lax.scan(step, (params, state), None, length=steps)
    return eqx.combine(params, static)


_fit = eqx.filter_jit(_fit_body)


@eqx.filter_jit
def _fit_many(head, feats, t, weights, use_gce, q, *, steps: int, lr: float, l2: float):
    def one(w, u, qq):
        return _fit_body(head, feats, t, w, u, qq, steps=steps, lr=lr, l2=l2)

    return eqx.filter_vmap(one)(weights, use_gce, q)


@eqx.filter_jit
def _new_head(dim: int, key: jax.Array) -> LinearHead:
    return LinearHead(dim, key=key)  # jitted: eager initialisation dispatches many small ops


def _bucket(m: int) -> int:
    """Rows are zero-weight padded to 256 or the next power of two, so few sizes get compiled."""
    return max(256, 1 << (m - 1).bit_length())


def train_head(
    feats: jax.Array,
    y: jax.Array,
    *,
    key: jax.Array | None = None,
    init: LinearHead | None = None,
    weights: jax.Array | None = None,
    loss: str = "ce",
    q: float = 0.7,
    steps: int = 300,
    lr: float = 0.05,
    l2: float = 1e-3,
) -> LinearHead:
    r"""Full-batch Adam on a linear head over frozen features.

    Minimises :math:`\sum_i w_i \ell(h(f_i), y_i)/\sum_i w_i + \lambda\|W\|_F^2` with
    :math:`\ell` the cross-entropy (``loss="ce"``) or :math:`L_q` (``loss="gce"``; ``q = 0`` is
    its limit, the cross-entropy).

    Args:
        feats: ``(m, d)`` float32 frozen features.
        y: ``(m,)`` int labels, or ``(m, 2)`` target probabilities (soft labels).
        key: initialisation key (needed unless ``init`` is given).
        init: start from this head instead of a fresh one.
        weights: ``(m,)`` non-negative example weights, not all zero (a 0/1 mask selects a subset);
            default all 1.
        loss: ``"ce"`` or ``"gce"``; q: the GCE exponent.
        steps, lr, l2: optimiser steps, Adam learning rate, weight penalty :math:`\lambda`.

    Returns:
        The trained head. Rows are padded with zero weight to a size bucket (:func:`_bucket`),
        which changes nothing in the objective and lets one compiled program serve many sizes.
    """
    if loss not in ("ce", "gce"):
        raise ValueError(f"loss: must be 'ce' or 'gce', got {loss!r}")
    feats = jnp.asarray(feats, F32)
    m, d = feats.shape
    head = init if init is not None else _new_head(d, key)
    w = jnp.ones(m, F32) if weights is None else jnp.asarray(weights, F32)
    use_gce, q = _loss_flags(loss, q)
    f, t, w = _padded(feats, y, w[None])
    return _fit(head, f, t, w[0], use_gce, q, steps=steps, lr=lr, l2=l2)


def train_heads(
    feats: jax.Array,
    y: jax.Array,
    *,
    init: LinearHead,
    weights: jax.Array,
    q: jax.Array,
    steps: int = 300,
    lr: float = 0.05,
    l2: float = 1e-3,
) -> LinearHead:
    r"""Several heads at once from one start: :func:`train_head` with ``loss="gce"`` per row of
    ``weights`` and entry of ``q``, vmapped into one compiled program (one matrix product per
    step for all heads instead of one thin product per head).

    Args:
        feats: ``(m, d)`` features; y: ``(m,)`` int labels or ``(m, 2)`` target probabilities.
        init: the common starting head.
        weights: ``(h, m)`` example weights of each head (0/1 masks select subsets).
        q: ``(h,)`` GCE exponents in [0, 1]; 0 is the cross-entropy.

    Returns:
        A :class:`LinearHead` whose arrays carry a leading axis of length ``h``
        (use :func:`predict_logits_many`).
    """
    feats = jnp.asarray(feats, F32)
    q = np.asarray(q, np.float32)
    use_gce = jnp.asarray(q > 0)
    q = jnp.asarray(np.where(q > 0, q, 1.0), F32)  # q = 0: the cross-entropy; the dummy q keeps GCE finite
    f, t, w = _padded(feats, y, jnp.asarray(weights, F32))
    return _fit_many(init, f, t, w, use_gce, q, steps=steps, lr=lr, l2=l2)


def predict_logits_many(heads: LinearHead, feats: jax.Array) -> jax.Array:
    """``(m, d) -> (h, m, classes)`` logits of the stacked heads of :func:`train_heads`."""
    return eqx.filter_vmap(predict_logits, in_axes=(eqx.if_array(0), None))(heads, feats)


def _loss_flags(loss: str, q: float) -> tuple[jax.Array, jax.Array]:
    use_gce = loss == "gce" and q > 0
    return jnp.asarray(use_gce), jnp.asarray(q if use_gce else 1.0, F32)


def _padded(feats: jax.Array, y: jax.Array, weights: jax.Array) -> tuple[jax.Array, jax.Array, jax.Array]:
    """Rows padded with zero weight to :func:`_bucket`; targets as ``(m, 2)`` probabilities."""
    m = feats.shape[0]
    pad = _bucket(m) - m
    t = _targets(y, 2)
    return (
        jnp.pad(feats, ((0, pad), (0, 0))),
        jnp.pad(t, ((0, pad), (0, 0))),
        jnp.pad(weights, ((0, 0), (0, pad))),
    )
