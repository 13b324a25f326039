"""Many problems at once: grids of fields and lists of problems become stacked pytree leaves.

This is the one map of the theory over many problems. A grid (:func:`grid_leaves`: broadcast
grids of any numeric fields, scalar or matrix) or a list of problems (:func:`stack_problems`)
becomes every leaf of :class:`~setting.problem.Problem` stacked along a leading axis of points, and
a batched program maps over that axis:

* :func:`asymptotics.evaluate` / :func:`asymptotics.evaluate_grid` for the standard quantities
  (risks, eta_u*, the phase boundary, the printed forms): compiled programs of fixed batch sizes,
  kept on disk, each distinct fixed point of a batch solved once (:mod:`._compiled`);
* :func:`on_grid` for any other theory function: one ``jax.jit`` per (function, problem
  structure), ``jax.lax.map`` over vmapped chunks of :data:`CHUNK` points; JAX's own cache keys
  it by the leaves' shapes.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from setting.problem import LEAVES, SCALARS, Problem, ProblemError, check_scalar

__all__ = ["on_grid", "batched", "grid_leaves", "stack_problems", "CHUNK"]

CHUNK = 256  # points per vmapped chunk


def grid_leaves(problem: Problem, grids: dict[str, Any]):
    """Broadcast grids of fields against each other; stack every leaf of ``problem`` over the points.

    A scalar field's grid is an array of values. A vector or matrix field's grid (``mu_xi``,
    ``T``, ``S``) is an array whose trailing axes have the field's shape and whose leading axes
    are grid axes; each of its values is validated as a Problem would validate it. Grid axes of
    all fields broadcast together (``[:, None]`` / ``[None, :]`` for a product grid).

    Returns:
        ``(shape, leaves, treedef)``: the broadcast grid shape; the problem's leaves in
        :data:`~setting.problem.LEAVES` order, each of shape ``(prod(shape), *leaf_shape)``; and the
        problem's pytree structure.
    """
    leaves, treedef = jax.tree_util.tree_flatten(problem)
    base = {f: np.asarray(x, dtype=np.float64) for f, x in zip(LEAVES, leaves, strict=True)}
    values, axes = {}, {}
    for name, v in grids.items():
        if name not in base:
            raise ProblemError(f"{name}: not a numeric field that can be gridded (one of {', '.join(LEAVES)})")
        v = np.asarray(v, dtype=np.float64)
        tail = base[name].shape
        if v.ndim < len(tail) or v.shape[v.ndim - len(tail) :] != tail:
            raise ProblemError(f"{name}: a grid of values must end in the field's shape {tail}, got shape {v.shape}")
        if name in SCALARS:
            check_scalar(name, v)
        values[name], axes[name] = v, v.shape[: v.ndim - len(tail)]
    try:
        shape = np.broadcast_shapes(*axes.values())
    except ValueError:
        raise ProblemError(f"grids: axes {axes} do not broadcast together") from None
    m = math.prod(shape)
    stacked = []
    for f in LEAVES:
        tail = base[f].shape
        v = np.broadcast_to(values[f], shape + tail) if f in values else np.broadcast_to(base[f], shape + tail)
        stacked.append(v.reshape((m, *tail)))
    for f in values:  # a vector or matrix field: each of its own values (shapes are fixed, so rules are per field)
        if f not in SCALARS:
            for value in values[f].reshape((-1, *base[f].shape)):
                problem.replace(**{f: value})
    return shape, stacked, treedef


def stack_problems(problems: Sequence[Problem]):
    """Problems of one group model and one shape: ``(leaves, treedef)`` with the leaves stacked as in
    :func:`grid_leaves` (each problem validated itself on construction, so it is only flattened)."""
    if not problems:
        raise ProblemError("problems: need at least one problem")
    first, treedef = jax.tree_util.tree_flatten(problems[0])
    first = [np.asarray(x, dtype=np.float64) for x in first]
    columns = [[x] for x in first]
    for q in problems[1:]:
        leaves = [np.asarray(x, dtype=np.float64) for x in jax.tree_util.tree_leaves(q)]
        if q.group_model != problems[0].group_model or [x.shape for x in leaves] != [x.shape for x in first]:
            raise ProblemError("problems: all must share the group model and the shapes of mu_xi, T and S")
        for col, x in zip(columns, leaves, strict=True):
            col.append(x)
    return [np.stack(col) for col in columns], treedef


@functools.cache
def batched(fn: Callable) -> Callable:
    """One compiled map of ``fn`` over stacked problems: ``batched(fn)(treedef, leaves)``.

    ``leaves`` are the problem's leaves with a leading axis of points (:func:`grid_leaves`); the map
    runs in vmapped chunks of :data:`CHUNK` points (``jax.lax.map(..., batch_size=CHUNK)``).
    """

    def run(treedef, leaves):
        return jax.lax.map(lambda one: fn(jax.tree_util.tree_unflatten(treedef, one)), leaves, batch_size=CHUNK)

    return jax.jit(run, static_argnums=0)


def on_grid(fn: Callable, problem: Problem, **grids: Any):
    """Evaluate ``fn`` at every point of broadcast grids of fields (scalar or matrix, :func:`grid_leaves`).

    Args:
        fn: a pure JAX theory function of a Problem.
        problem: the base problem; fields not in ``grids`` keep its values.
        **grids: field name -> array of values; grid axes are broadcast together (use
            ``np.meshgrid`` or ``[:, None]`` / ``[None, :]`` for a product grid).

    Returns:
        ``fn``'s output with the broadcast grid shape prepended to every leaf.
    """
    shape, leaves, treedef = grid_leaves(problem, grids)
    out = batched(fn)(treedef, [jnp.asarray(x) for x in leaves])
    return jax.tree_util.tree_map(lambda x: x.reshape(shape + x.shape[1:]), out)
