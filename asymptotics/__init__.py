"""Proportional-asymptotic theory of weak-to-strong generalization under spurious correlations.

Pure JAX (float64) functions of a :class:`w2s.Problem`; all can be jitted, vmapped over
parameter grids (:func:`on_grid`) and differentiated. For the standard questions (risks, eta_u*,
the phase boundary, the printed forms) over one problem or many, :func:`evaluate` and
:func:`evaluate_grid` run compiled programs kept on disk (:mod:`._compiled`).

Beyond the paper's model, :func:`mixture_risks` gives the teacher's and the student's risks when
the weak and strong features are a general Gaussian mixture of groups (:class:`GroupMixture`),
e.g. a real encoder's features per (label, attribute) group; the paper's model is the special
case of a continuous mixture over the group feature (docs/theory.md, "General Gaussian group
mixtures").
"""

from setting.moments import augmented_moment, cross_moment, projection, student_moment, teacher_moment

from ._compiled import QUANTITIES, ConvergenceError, batch_size, cache_dir, compiled, evaluate, evaluate_grid
from ._exact import (
    at_student_threshold,
    at_teacher_threshold,
    gain_exact,
    relative_gain_exact,
    student_risk_exact,
    teacher_error_exact,
    teacher_risk_exact,
)
from ._exact_optim import (
    eta_u_star_exact,
    gain_grid_exact,
    optimal_student_ridge_exact,
    phase_boundary_exact,
    phase_point_exact,
)
from ._grid import CHUNK, batched, grid_leaves, on_grid, stack_problems
from ._methods import DEFAULT_METHOD, METHODS, Method, register, risks
from ._mixture import GroupMixture, MixtureError, mixture_risks
from ._paper import (
    eta_u_star_printed,
    failure_threshold_printed,
    gain_paper,
    printed_student_risk,
    printed_teacher_risk,
    relative_gain_paper,
    student_risk_paper,
    teacher_risk_paper,
)

__all__ = [
    "CHUNK",
    "ConvergenceError",
    "GroupMixture",
    "MixtureError",
    "QUANTITIES",
    "batch_size",
    "cache_dir",
    "compiled",
    "evaluate",
    "evaluate_grid",
    "at_student_threshold",
    "at_teacher_threshold",
    "eta_u_star_exact",
    "gain_exact",
    "gain_grid_exact",
    "optimal_student_ridge_exact",
    "phase_boundary_exact",
    "phase_point_exact",
    "relative_gain_exact",
    "student_risk_exact",
    "teacher_error_exact",
    "teacher_risk_exact",
    "DEFAULT_METHOD",
    "METHODS",
    "mixture_risks",
    "Method",
    "augmented_moment",
    "batched",
    "cross_moment",
    "eta_u_star_printed",
    "failure_threshold_printed",
    "gain_paper",
    "on_grid",
    "grid_leaves",
    "stack_problems",
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
