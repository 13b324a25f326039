"""The registry of theory methods: each maps a Problem to its teacher and student risks.

``"paper"`` is the leading-order trace form of the paper's printed results (`_paper.py`);
``"exact"`` (the default) the exact proportional-limit deterministic equivalents (`_exact.py`).
Further methods register themselves here with :func:`register`; every consumer (the CLI,
figures, the explorer) goes through :func:`risks`, so a new method needs no other change.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import jax.numpy as jnp

from setting.problem import Problem, ProblemError
from setting.risks import risk_dict

from ._exact import student_risk_exact, teacher_risk_exact
from ._paper import student_risk_paper, teacher_risk_paper

__all__ = ["Method", "METHODS", "register", "risks", "DEFAULT_METHOD"]


class Method(NamedTuple):
    teacher_risk: Callable[[Problem], jnp.ndarray]
    student_risk: Callable[[Problem], jnp.ndarray]
    description: str


METHODS: dict[str, Method] = {}
DEFAULT_METHOD = "exact"


def register(name: str, method: Method) -> None:
    METHODS[name] = method


register(
    "paper",
    Method(
        teacher_risk_paper,
        student_risk_paper,
        "leading order in gamma_z, ridgeless, N = inf (the paper's printed forms under mean-shift)",
    ),
)
register(
    "exact",
    Method(
        teacher_risk_exact,
        student_risk_exact,
        "exact proportional limit: finite gamma_z and nu_z, ridge or min-norm in both regimes, "
        "exact Gaussian-mixture expectations (docs/theory.md); inf at an interpolation threshold",
    ),
)


def risks(problem: Problem, method: str = DEFAULT_METHOD) -> dict[str, jnp.ndarray]:
    """Teacher risk, student risk, W2S gain and relative gain of ``problem`` by ``method``.

    Returns a dict with keys ``teacher_risk``, ``student_risk``, ``gain``, ``relative_gain``;
    pure JAX, so it can be jitted, vmapped (see :func:`on_grid`) and differentiated.
    """
    if method not in METHODS:
        raise ProblemError(f"method: must be one of {sorted(METHODS)}, got {method!r}")
    m = METHODS[method]
    return risk_dict(m.teacher_risk(problem), m.student_risk(problem))
