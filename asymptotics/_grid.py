"""Evaluating any theory function over parameter grids: one compilation per grid shape.

A theory function takes a :class:`~w2s.problem.Problem` and returns a scalar (or a pytree of
scalars). :func:`on_grid` broadcasts the given grids of scalar fields against each other,
flattens them, and evaluates ``fn`` over them inside one ``jax.jit``: ``jax.lax.map`` over
chunks of :data:`CHUNK` points, each chunk ``jax.vmap``-ed. The compiled function is cached
per (fn, fields) in memory, and JAX's own cache keys it by the grid's shape.

For the standard quantities (risks, eta_u*, the phase boundary) :func:`asymptotics.evaluate_grid`
is faster: its programs are compiled once per shape and kept on disk, and it solves each
distinct fixed point of a grid once. :func:`on_grid` is for any other function.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from w2s.problem import SCALARS, Problem, ProblemError, check_scalar

__all__ = ["on_grid", "batched", "CHUNK"]

CHUNK = 256  # points per vmapped chunk


@functools.cache
def batched(fn: Callable, names: tuple[str, ...]) -> Callable:
    """One compiled map over the named scalar fields: ``batched(fn, names)(problem, *flat_values)``.

    ``flat_values`` are 1-D arrays of equal length; the map runs in vmapped chunks of
    :data:`CHUNK` points (``jax.lax.map(..., batch_size=CHUNK)``).
    """

    def one(problem: Problem, values):
        return fn(dataclasses.replace(problem, **dict(zip(names, values, strict=True))))

    return jax.jit(lambda problem, *values: jax.lax.map(lambda v: one(problem, v), values, batch_size=CHUNK))


def on_grid(fn: Callable, problem: Problem, **grids: Any):
    """Evaluate ``fn`` at every point of broadcast grids of scalar fields.

    Args:
        fn: a pure JAX theory function of a Problem.
        problem: the base problem; fields not in ``grids`` keep its values.
        **grids: scalar field name -> array of values; arrays are broadcast together
            (use ``np.meshgrid`` or ``[:, None]`` / ``[None, :]`` for a product grid).

    Returns:
        ``fn``'s output with the broadcast grid shape prepended to every leaf.
    """
    for name, values in grids.items():
        if name not in SCALARS:
            raise ProblemError(f"{name}: not a scalar field that can be gridded (one of {', '.join(SCALARS)})")
        check_scalar(name, values)
    names = tuple(sorted(grids))
    arrays = np.broadcast_arrays(*(np.asarray(grids[k], dtype=np.float64) for k in names))
    shape = arrays[0].shape if arrays else ()
    flat = [jnp.asarray(a.reshape(-1)) for a in arrays]
    out = batched(fn, names)(problem, *flat)
    return jax.tree_util.tree_map(lambda x: x.reshape(shape + x.shape[1:]), out)
