"""Proportional-asymptotic theory of weak-to-strong generalization under spurious correlations.

Pure JAX (float64) functions of a :class:`w2s.Problem`; all can be jitted, vmapped over
parameter grids (:func:`on_grid`) and differentiated.
"""

import w2s  # noqa: F401  (enables float64 before any array is made)

from ._grid import batched, on_grid
from ._methods import DEFAULT_METHOD, METHODS, Method, register, risks
from ._moments import augmented_moment, cross_moment, projection, student_moment, teacher_moment
from ._paper import (
    eta_u_star_paper,
    failure_threshold_paper,
    gain_paper,
    printed_student_risk,
    printed_teacher_risk,
    relative_gain_paper,
    student_risk_paper,
    teacher_risk_paper,
)

__all__ = [
    "DEFAULT_METHOD",
    "METHODS",
    "Method",
    "augmented_moment",
    "batched",
    "cross_moment",
    "eta_u_star_paper",
    "failure_threshold_paper",
    "gain_paper",
    "on_grid",
    "printed_student_risk",
    "printed_teacher_risk",
    "projection",
    "register",
    "relative_gain_paper",
    "risks",
    "student_moment",
    "student_risk_paper",
    "teacher_moment",
    "teacher_risk_paper",
]
