"""Monte Carlo of the finite-sample teacher/student regressions of "Does Weak-to-strong
Generalization Happen under Spurious Correlations?" (Liu, Dong, Lei, ICLR 2026).

The empirical side of every "predicted vs empirical" check: :func:`estimate` runs independent
trials of :func:`trial` (teacher fit, pseudolabels, student fit, exact excess risks) and
returns means and standard errors under the same names as :func:`asymptotics.risks`. The
regressions on :math:`z \\otimes w` features are solved matrix-free (:func:`ridge_fit`), so a
paper-scale trial (d_z = 2048) never forms the n x d_z p_T design.
"""

from ._random import normal
from ._sampling import Design, group_map, materialise, sample_group_features, student_design, teacher_design
from ._solver import DEFAULT_MAXITER, DEFAULT_TOL, SolveInfo, dense_ridge, kron_rows, pcg, ridge_fit
from ._trial import (
    RISK_KEYS,
    Config,
    Fit,
    Interrupted,
    SolveError,
    config,
    default_cache_bytes,
    estimate,
    excess_risk,
    fit,
    fit_pure,
    fit_risks,
    trial,
    trial_program,
    z_score,
)

__all__ = [
    "Config",
    "DEFAULT_MAXITER",
    "DEFAULT_TOL",
    "Design",
    "Fit",
    "Interrupted",
    "RISK_KEYS",
    "SolveError",
    "SolveInfo",
    "config",
    "default_cache_bytes",
    "dense_ridge",
    "estimate",
    "excess_risk",
    "fit",
    "fit_pure",
    "fit_risks",
    "group_map",
    "kron_rows",
    "materialise",
    "normal",
    "pcg",
    "ridge_fit",
    "sample_group_features",
    "student_design",
    "teacher_design",
    "trial",
    "trial_program",
    "z_score",
]
