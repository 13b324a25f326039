r"""The quantities every part of the project reports, named once.

The excess risk of a fit on :math:`D(\eta_t)`, :math:`\mathrm{ER}_{\eta_t}(f) = E(f(x) - z^\top\beta^*)^2`,
for the teacher and the student, the W2S gain (teacher minus student) and the relative gain
(gain over teacher). The theory (:mod:`asymptotics`) returns all four; the simulator
(:mod:`simulate`) the first three with standard errors (a ratio of means is not a mean), so
theory and simulation are compared on :data:`RISK_NAMES`.
"""

from __future__ import annotations

__all__ = ["RISK_NAMES", "THEORY_NAMES", "risk_dict"]

RISK_NAMES = ("teacher_risk", "student_risk", "gain")
THEORY_NAMES = (*RISK_NAMES, "relative_gain")


def risk_dict(teacher, student) -> dict:
    """``{teacher_risk, student_risk, gain = teacher - student, relative_gain = gain / teacher}``
    (floats, numpy or JAX arrays alike)."""
    gain = teacher - student
    return {"teacher_risk": teacher, "student_risk": student, "gain": gain, "relative_gain": gain / teacher}
