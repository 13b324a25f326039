"""Linear classification heads on frozen features: losses, training, entropy-based selection."""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp
import optax

from ._backbones import optimizer_update

__all__ = ["LinearHead", "cross_entropy", "entropy", "gce", "predict_logits", "select_confident", "train_head"]

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


def cross_entropy(logits: jax.Array, y: jax.Array) -> jax.Array:
    r"""Per-example :math:`-\log p_y`, ``(m, k), (m,) -> (m,)``."""
    logp = jax.nn.log_softmax(logits, axis=-1)
    return -jnp.take_along_axis(logp, y[:, None], axis=-1)[:, 0]


def gce(logits: jax.Array, y: jax.Array, q) -> jax.Array:
    r"""Generalized cross-entropy :math:`L_q = (1 - p_y^q)/q`, per example (Zhang & Sabuncu 2018).

    Computed as :math:`-\mathrm{expm1}(q \log p_y)/q`, accurate for small ``q``, where it tends
    to the cross-entropy :math:`-\log p_y`; at ``q = 1`` it is :math:`1 - p_y`.

    Args:
        logits: ``(m, k)``.
        y: ``(m,)`` int labels.
        q: scalar in (0, 1].
    """
    logp = jnp.take_along_axis(jax.nn.log_softmax(logits, axis=-1), y[:, None], axis=-1)[:, 0]
    q = jnp.asarray(q, logp.dtype)
    return -jnp.expm1(q * logp) / q


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


@eqx.filter_jit
def _fit(head, feats, y, weights, use_gce, q, *, steps: int, lr: float, l2: float):
    opt = optax.adam(lr)
    params, static = eqx.partition(head, eqx.is_inexact_array)
    state = opt.init(params)
    wsum = jnp.sum(weights)

    def objective(params):
        h = eqx.combine(params, static)
        logits = predict_logits(h, feats)
        # Both losses are computed and one is chosen at run time: CE and GCE share one program.
        per = jnp.where(use_gce, gce(logits, y, q), cross_entropy(logits, y))
        return jnp.sum(weights * per) / wsum + l2 * jnp.sum(h.linear.weight**2)

    def step(carry, _):
        params, state = carry
        grads = jax.grad(objective)(params)
        updates, state = optimizer_update(opt, grads, state, params)
        return (optax.apply_updates(params, updates), state), None

    (params, _), _ = jax.lax.scan(step, (params, state), None, length=steps)
    return eqx.combine(params, static)


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
    :math:`\ell` the cross-entropy (``loss="ce"``) or :math:`L_q` (``loss="gce"``).

    Args:
        feats: ``(m, d)`` float32 frozen features.
        y: ``(m,)`` int labels.
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
    pad = _bucket(m) - m
    return _fit(
        head,
        jnp.pad(feats, ((0, pad), (0, 0))),
        jnp.pad(jnp.asarray(y, jnp.int32), (0, pad)),
        jnp.pad(w, (0, pad)),
        jnp.asarray(loss == "gce"),
        jnp.asarray(q, F32),
        steps=steps,
        lr=lr,
        l2=l2,
    )
