r"""Compiled theory programs: one executable per (quantity, method, group model, shape, batch),
kept on disk so that a second run of the same question neither traces nor compiles.

A *quantity* maps one :class:`~setting.problem.Problem` to a dict of scalars plus whether every
fixed point behind them converged (the exact method's Newton solves; always true for the closed
forms):

* ``"risks"``: ``teacher_risk``, ``student_risk``, ``gain``, ``relative_gain``;
* ``"point"``: the risks, ``eta_u_star`` (the exact maximiser over [0, 1] for ``"exact"``; the
  printed unconstrained one for ``"paper"``, which adds ``failure_threshold_mu_T2``) and
  ``at_threshold`` (a ridgeless fit exactly at its interpolation threshold: infinite risk);
* ``"boundary"``: :func:`~asymptotics.phase_point_exact`'s ``eta_u_star``, ``max_gain``,
  ``lower``, ``upper`` for the method's gain;
* ``"printed"``: the paper's printed forms (``teacher_risk``, ``student_risk``, ``gain``),
  ``eta_u_star_printed`` and ``failure_threshold`` (the method is ignored).

:func:`evaluate` runs a quantity over many problems of one shape: it stacks their leaves, pads
to one of a few fixed batch sizes (:func:`batch_size`) and calls one ``jit(vmap)`` executable
per batch, so a grid of any size reuses the same compilations. Executables are serialised with
``jax.experimental.serialize_executable`` under :func:`cache_dir`, keyed by the program, the
leaf shapes, the JAX/jaxlib versions, the host CPU and a hash of the theory's source: a changed
formula or another machine never loads a stale executable. A point whose fixed point does not
converge raises :class:`ConvergenceError` (or, with ``on_error="nan"``, reads NaN and is marked),
never a wrong number.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import dataclasses
import functools
import hashlib
import importlib.metadata
import inspect
import marshal
import os
import pickle
import platform
import sys
import tempfile
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

import setting
from setting.groups import group_law
from setting.problem import LEAVES, SCALARS, Problem, ProblemError
from setting.risks import risk_dict

from ._exact import (
    _student_risk_from,
    _student_solution,
    _teacher_risk,
    _teacher_solution,
    at_student_threshold,
    at_teacher_threshold,
    exact_parts,
)
from ._exact_optim import along_eta_u, argmin_student, phase_point_from, phase_point_parts
from ._fixed_point import NOT_CONVERGED, Resolvent
from ._grid import grid_leaves, stack_problems
from ._methods import METHODS, risks
from ._paper import eta_u_star_printed, failure_threshold_printed, printed_student_risk, printed_teacher_risk

__all__ = [
    "QUANTITIES",
    "batch_size",
    "ConvergenceError",
    "cache_dir",
    "evaluate",
    "evaluate_grid",
    "compiled",
]

# Batch sizes of the compiled programs. Each size is one compilation per program and shape, so
# there are few: a call pads its points up to the smallest size that fits, or loops over the
# largest. Programs that solve fixed points use one size: vmapped Newton loops run until their
# slowest point converges, so larger batches buy little. Closed-form programs (the combination
# of solved stages, the printed forms) are cheap per point and also get a large size, so
# long grids make few calls.
SOLVER_BATCHES = (16,)
CLOSED_FORM_BATCHES = (16, 256)
CLOSED_FORM = ("combine", "printed")
# "point" (risks and eta_u*, a bisection of fixed-point solves) is mostly asked of one problem
# at a time (the CLI): padding that to 16 would cost 16 times the work.
POINT_BATCHES = (1, 16)


def batch_size(points: int, sizes: tuple[int, ...] = SOLVER_BATCHES) -> int:
    """The compiled batch size that serves ``points`` points (or the first ``max(sizes)`` of them)."""
    return next((b for b in sizes if b >= points), sizes[-1])


class ConvergenceError(RuntimeError):
    """The exact theory's fixed point did not converge at some of the points asked for."""


# ----------------------------------------------------------------------------- the quantities
def _risks(problem: Problem, method: str):
    if method != "exact":  # closed forms: nothing to converge
        return risks(problem, method), jnp.asarray(True)
    teacher, student, ok = exact_parts(problem)
    return risk_dict(teacher, student), ok


def _point(problem: Problem, method: str):
    at_threshold = at_teacher_threshold(problem) | at_student_threshold(problem)
    if method == "exact":
        student, teacher, ok = along_eta_u(problem)  # the teacher solved once for both
        risk, ok_s = student(problem.eta_u)
        out = risk_dict(teacher, risk)
        star, ok_star = argmin_student(student)
        out["eta_u_star"] = jnp.where(at_threshold, jnp.nan, star)  # risks infinite: no maximiser
        ok = ok & ok_s & (ok_star | at_threshold)
    else:
        out, ok = _risks(problem, method)
        if method == "paper":  # the printed forms' own maximiser and failure threshold
            out["eta_u_star"] = eta_u_star_printed(problem)
            out["failure_threshold_mu_T2"] = failure_threshold_printed(problem)
    out["at_threshold"] = at_threshold
    return out, ok


def _boundary(problem: Problem, method: str):
    if method == "exact":
        return phase_point_parts(problem)
    m = METHODS[method]
    teacher = m.teacher_risk(problem)

    def student(e):
        return m.student_risk(dataclasses.replace(problem, eta_u=e)), jnp.asarray(True)

    return phase_point_from(student, teacher)


def _printed(problem: Problem, method: str):
    del method
    teacher, student = printed_teacher_risk(problem), printed_student_risk(problem)
    out = {
        "teacher_risk": teacher,
        "student_risk": student,
        "gain": teacher - student,
        "eta_u_star_printed": eta_u_star_printed(problem),
        "failure_threshold": failure_threshold_printed(problem),
    }
    return out, jnp.asarray(True)


QUANTITIES: dict[str, Callable[[Problem, str], tuple[dict[str, Any], Any]]] = {
    "risks": _risks,
    "point": _point,
    "boundary": _boundary,
    "printed": _printed,
}


# ----------------------------------------------------------------------------- the disk cache
def cache_dir() -> Path:
    """Where compiled programs are kept: ``theory`` in :func:`setting.cache_root`."""
    return setting.cache_root() / "theory"


@functools.cache
def _code_key(code) -> bytes:
    """What a function's code computes, without where it is written (file, line numbers)."""
    consts = tuple(_code_key(c) if hasattr(c, "co_code") else c for c in code.co_consts)
    return marshal.dumps((code.co_code, consts, code.co_names, code.co_varnames))


def _fingerprint() -> str:
    """Hash of what a compiled executable depends on besides its program and shapes."""
    h = hashlib.sha256()
    for package in (sys.modules[__package__], setting):  # this package and the ground under it
        folder = Path(inspect.getfile(package)).resolve().parent
        for path in sorted(folder.glob("*.py")):
            h.update(f"{package.__name__}/{path.name}".encode())
            h.update(path.read_bytes())
    for dist in ("jax", "jaxlib"):
        h.update(importlib.metadata.version(dist).encode())
    h.update(platform.machine().encode())
    h.update(str(jax.devices()[0].platform).encode())
    h.update(str(getattr(jax.devices()[0], "device_kind", "")).encode())
    try:  # XLA:CPU code is specialised to the host's instruction set
        flags = next(line for line in Path("/proc/cpuinfo").read_text().splitlines() if line.startswith("flags"))
        h.update(flags.encode())
    except (OSError, StopIteration):
        h.update(platform.processor().encode())
    return h.hexdigest()[:16]


_LOCK = threading.Lock()

# The exact risks in three stages, so that a batch solves each distinct fixed point once: the
# teacher's depends only on TEACHER_FIELDS, the student's resolvent only on STUDENT_FIELDS (a
# 64 x 64 (eta_l, eta_u) grid has 64 of each, not 4096). A stage sees NaN in every other field,
# so a field missing from these lists shows up as NaN risks (tests compare staged and direct).
TEACHER_FIELDS = ("sigma_y2", "signal", "sigma_xi2", "mu_xi", "T", "eta_l", "gamma", "ridge_teacher")
STUDENT_FIELDS = ("sigma_xi2", "mu_xi", "T", "S", "eta_u", "nu", "ridge_student")


def _teacher_stage(problem: Problem, extras):
    E, cross, threshold, ok = _teacher_solution(problem)
    return {"E": E, "cross": cross, "threshold": threshold, "ok": ok}


def _student_stage(problem: Problem, extras):
    res, c, threshold = _student_solution(problem)
    return {**res._asdict(), "c": c, "threshold": threshold}


def _combine_stage(problem: Problem, extras):
    t, st = extras
    teacher = _teacher_risk(problem, t["E"], t["threshold"])
    res = Resolvent(**{k: st[k] for k in Resolvent._fields})
    student, ok_s = _student_risk_from(problem, res, st["c"], st["threshold"], t["E"], t["cross"], t["threshold"])
    return risk_dict(teacher, student), t["ok"] & ok_s


STAGES = {"teacher": _teacher_stage, "student": _student_stage, "combine": _combine_stage}


def _body(name: str, method: str) -> Callable:
    if name in STAGES:
        return STAGES[name]
    fn = QUANTITIES[name]
    return lambda problem, extras: fn(problem, method)


def _shape_tag(shapes) -> str:
    return "_".join("x".join(map(str, shape)) or "s" for shape in shapes)


@functools.cache
def _prepare_runtime() -> None:
    """Register the LAPACK kernels the executables call before one is loaded from disk: XLA:CPU
    registers them lazily when it first lowers a linear-algebra op, and a deserialised executable
    calling an unregistered kernel crashes the process. (JAX's own ``jax.export`` does the same
    through this private function; the public fallback lowers one linear-algebra op.)"""
    try:
        from jax._src.lax import linalg

        linalg.initialize_lapack()
        return
    except (ImportError, AttributeError):
        pass
    a = jnp.eye(2)
    jax.jit(
        lambda a: (
            jnp.linalg.inv(a),
            jnp.linalg.solve(a, a),
            jnp.linalg.eigvalsh(a),
            jnp.linalg.cholesky(a),
            jnp.linalg.slogdet(a),
            jax.scipy.linalg.solve_triangular(a, a, lower=True),
        )
    ).lower(a)


@functools.cache
def compiled(name: str, method: str, group_model: str, treedef, extras_spec, batch: int) -> Callable:
    """The executable of program ``name`` over ``batch`` problems: loaded from disk, else compiled and saved.

    Args:
        name: a quantity of :data:`QUANTITIES` or a stage of the exact risks (:data:`STAGES`).
        method: the theory method.
        group_model: the problems' group model.
        treedef: the problems' pytree structure (with ``d_z`` normalised away).
        extras_spec: ``(treedef, shapes)`` of the per-point extra inputs and of the problem leaves.
        batch: the number of points.

    Returns:
        A function of ``(leaves, extras)``, each array with a leading batch axis, returning the
        program's outputs with that leading axis.
    """
    body = _body(name, method)
    extras_tree, leaf_shapes, extra_shapes = extras_spec

    def one(leaves, extras):
        return body(jax.tree_util.tree_unflatten(treedef, leaves), extras)

    # The group law's components are code too: a law registered at run time gets its own files.
    components = group_law(group_model).components
    closure = tuple(repr(c.cell_contents) for c in components.__closure__ or ())
    law = _code_key(components.__code__) + repr(closure).encode()
    tag = hashlib.sha256(f"{treedef}|{extras_tree}|{extra_shapes}".encode() + law).hexdigest()[:10]
    path = (
        cache_dir() / f"{name}-{method}-{group_model}-{_shape_tag(leaf_shapes)}-{tag}-b{batch}-{_fingerprint()}.jaxexe"
    )

    def build():
        def spec(shape, dtype=jnp.float64):
            return jax.ShapeDtypeStruct((batch, *shape), dtype)

        leaves = [spec(s) for s in leaf_shapes]
        extras = jax.tree_util.tree_unflatten(extras_tree, [spec(s, d) for s, d in extra_shapes])
        return jax.jit(jax.vmap(one)).lower(leaves, extras).compile()

    return _Program(build, path)


class _Program:
    """A compiled program with its file: loaded on first call if saved, else compiled, and its
    file written after its first successful run.

    XLA:CPU can write an executable that does not load in another process (seen with jax 0.12:
    one of some thirty programs failed on its first run after loading, "Function ... not found").
    Such a program is compiled afresh, its file removed, and a marker beside it keeps later
    runs from saving or loading it again: they compile it instead, and still answer.
    """

    def __init__(self, build: Callable, path: Path) -> None:
        self.build, self.path, self.exe, self.loaded, self.blob = build, path, None, False, None
        self.unloadable = path.with_suffix(".unloadable")

    def _load(self):
        from jax.experimental import serialize_executable

        if self.path.exists() and not self.unloadable.exists():
            _prepare_runtime()
            try:
                payload, in_tree, out_tree = pickle.loads(self.path.read_bytes())
                exe = serialize_executable.deserialize_and_load(payload, in_tree, out_tree)
                self.loaded = True
                return exe
            except Exception:  # noqa: BLE001 (a damaged or foreign file: compile afresh and overwrite it)
                pass
        return self._compile()

    def _compile(self):
        from jax.experimental import serialize_executable

        exe = self.build()
        self.loaded = False
        if not self.unloadable.exists():
            try:  # serialised now: XLA:CPU cannot serialise an executable once it has run
                self.blob = pickle.dumps(serialize_executable.serialize(exe))
            except Exception:  # noqa: BLE001 (e.g. a program with host callbacks: not kept on disk)
                self.blob = None
        return exe

    def __call__(self, leaves, extras):
        if self.exe is None:
            self.exe = self._load()
        try:
            out = jax.block_until_ready(self.exe(leaves, extras))
        except jax.errors.JaxRuntimeError:
            if not self.loaded:
                raise
            self.path.unlink(missing_ok=True)
            with contextlib.suppress(OSError):
                self.unloadable.touch()
            self.exe = self._compile()
            out = jax.block_until_ready(self.exe(leaves, extras))
        if self.blob is not None:  # written once the program has run
            blob, self.blob = self.blob, None
            self._save(blob)
        return out

    def _save(self, blob: bytes) -> None:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with _LOCK, tempfile.NamedTemporaryFile(dir=self.path.parent, delete=False, suffix=".tmp") as f:
                f.write(blob)
            os.replace(f.name, self.path)  # atomic: a concurrent reader sees the old file or the new one
        except OSError:  # no cache, e.g. a read-only home: still answer
            pass


def _call(name, method, group_model, treedef, leaves, extras=()):
    """Run program ``name`` over stacked ``leaves`` (and per-point ``extras``) in padded batches."""
    m = leaves[0].shape[0]
    flat_extras, extras_tree = jax.tree_util.tree_flatten(extras)
    spec = (
        extras_tree,
        tuple(x.shape[1:] for x in leaves),
        tuple((x.shape[1:], np.asarray(x).dtype.name) for x in flat_extras),
    )
    closed_form = name in CLOSED_FORM or (name == "risks" and method != "exact")
    sizes = CLOSED_FORM_BATCHES if closed_form else POINT_BATCHES if name == "point" else SOLVER_BATCHES
    outs = []
    start = 0
    while start < m:
        batch = batch_size(m - start, sizes)
        take = min(batch, m - start)

        def chunk(x, start=start, take=take, batch=batch):
            x = np.asarray(x[start : start + take])
            if take < batch:  # pad by repeating the last point (valid, so it converges like it)
                x = np.concatenate([x, np.repeat(x[-1:], batch - take, axis=0)])
            return jnp.asarray(x)

        exe = compiled(name, method, group_model, treedef, spec, batch)
        out = exe(
            [chunk(x) for x in leaves], jax.tree_util.tree_unflatten(extras_tree, [chunk(x) for x in flat_extras])
        )
        outs.append(jax.tree_util.tree_map(lambda v, take=take: np.asarray(v)[:take], out))
        start += take
    return jax.tree_util.tree_map(lambda *xs: np.concatenate(xs), *outs)


def _unique_rows(leaves, fields):
    """Indices of the distinct rows of the named fields, and each point's row."""
    cols = [leaves[LEAVES.index(f)].reshape(leaves[0].shape[0], -1) for f in fields]
    _, first, inverse = np.unique(np.concatenate(cols, axis=1), axis=0, return_index=True, return_inverse=True)
    return first, inverse.reshape(-1)


def _stage_input(leaves, fields, rows):
    """The leaves of ``rows``, NaN in every field a stage must not read."""
    return [x[rows] if f in fields else np.full_like(x[rows], np.nan) for f, x in zip(LEAVES, leaves, strict=True)]


def _risks_staged(leaves, treedef, group_model):
    t_rows, t_of = _unique_rows(leaves, TEACHER_FIELDS)
    s_rows, s_of = _unique_rows(leaves, STUDENT_FIELDS)
    # The two fixed points are independent: run them side by side (XLA compiles and runs without
    # holding the GIL, so a first call compiles both programs at once on two cores).
    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        t_job = pool.submit(
            _call, "teacher", "exact", group_model, treedef, _stage_input(leaves, TEACHER_FIELDS, t_rows)
        )
        s_job = pool.submit(
            _call, "student", "exact", group_model, treedef, _stage_input(leaves, STUDENT_FIELDS, s_rows)
        )
        teacher, student = t_job.result(), s_job.result()
    extras = (jax.tree_util.tree_map(lambda v: v[t_of], teacher), jax.tree_util.tree_map(lambda v: v[s_of], student))
    return _call("combine", "exact", group_model, treedef, leaves, extras)


# ----------------------------------------------------------------------------- evaluation
def _describe(problem: Problem) -> str:
    return ", ".join(f"{k}={float(getattr(problem, k)):.6g}" for k in SCALARS)


def _check(quantity: str, method: str, on_error: str) -> None:
    if quantity not in QUANTITIES:
        raise ProblemError(f"quantity: must be one of {sorted(QUANTITIES)}, got {quantity!r}")
    if method not in METHODS:
        raise ProblemError(f"method: must be one of {sorted(METHODS)}, got {method!r}")
    if on_error not in ("raise", "nan"):
        raise ProblemError(f"on_error: must be 'raise' or 'nan', got {on_error!r}")


def evaluate(
    problems: Problem | Sequence[Problem],
    quantity: str = "risks",
    method: str = "exact",
    *,
    on_error: str = "raise",
) -> dict[str, np.ndarray]:
    """``quantity`` (see :data:`QUANTITIES`) of ``method`` at each problem, through the compiled programs.

    Args:
        problems: one problem (scalar outputs) or a sequence of problems of one group model and
            one shape (outputs with a leading axis of their length).
        quantity: ``"risks"``, ``"point"``, ``"boundary"`` or ``"printed"``.
        method: a registered theory method (``asymptotics.METHODS``).
        on_error: ``"raise"``: a point whose fixed point does not converge raises
            :class:`ConvergenceError` naming it; ``"nan"``: its outputs are NaN and the result's
            boolean ``"converged"`` entry marks the points that did converge.

    Returns:
        A dict of NumPy arrays (float64; ``at_threshold`` boolean).
    """
    _check(quantity, method, on_error)
    single = isinstance(problems, Problem)
    plist = [problems] if single else list(problems)
    stacked, _ = stack_problems(plist)
    treedef = jax.tree_util.tree_structure(dataclasses.replace(plist[0], d_z=1))  # d_z: simulator only
    result = _finish(
        _evaluate(stacked, treedef, plist[0].group_model, quantity, method),
        on_error,
        lambda i: _describe(plist[i]),
    )
    return {k: v[0] if v.ndim else v for k, v in result.items()} if single else result


def _evaluate(stacked, treedef, group_model, quantity, method):
    if quantity == "risks" and method == "exact":
        return _risks_staged(stacked, treedef, group_model)
    return _call(quantity, method, group_model, treedef, stacked)


def _finish(out, on_error, describe):
    result, ok = out
    result = dict(result)
    if not ok.all():
        bad = np.flatnonzero(~ok)
        if on_error == "raise":
            raise ConvergenceError(
                f"{NOT_CONVERGED} at {bad.size} of {ok.size} points (first: {describe(int(bad[0]))})"
            )
        for v in result.values():
            if v.dtype.kind == "f":
                v[bad] = np.nan
    if on_error == "nan":
        result["converged"] = ok
    return result


def evaluate_grid(
    problem: Problem, quantity: str = "risks", method: str = "exact", *, on_error: str = "raise", **grids: Any
) -> dict[str, np.ndarray]:
    """``quantity`` at every point of broadcast grids of fields, scalar or matrix (as :func:`on_grid`), compiled.

    Args:
        problem: the base problem; fields not in ``grids`` keep its values.
        quantity, method, on_error: as in :func:`evaluate`.
        **grids: field name -> array of values (:func:`~asymptotics.grid_leaves`: a matrix field's
            values end in its shape), grid axes broadcast together (``[:, None]`` / ``[None, :]``).

    Returns:
        A dict of arrays of the broadcast grid shape (plus ``"converged"`` with ``on_error="nan"``).
    """
    _check(quantity, method, on_error)
    shape, stacked, treedef = grid_leaves(dataclasses.replace(problem, d_z=1), grids)

    def describe(i: int) -> str:
        return _describe(jax.tree_util.tree_unflatten(treedef, [x[i] for x in stacked]))

    out = _finish(_evaluate(stacked, treedef, problem.group_model, quantity, method), on_error, describe)
    return {k: v.reshape(shape) for k, v in out.items()}
