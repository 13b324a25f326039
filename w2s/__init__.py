"""w2s-spurious: weak-to-strong generalization under spurious correlations, theory and simulation.

The package ``w2s`` holds the shared problem specification and the command line; the theory
lives in :mod:`asymptotics`, the Monte Carlo in :mod:`simulate`.
"""

import jax

jax.config.update("jax_enable_x64", True)

from .problem import FIELDS, GROUP_MODELS, Problem, ProblemError, load_problem  # noqa: E402

__version__ = "0.1.0"

__all__ = ["FIELDS", "GROUP_MODELS", "Problem", "ProblemError", "load_problem", "__version__"]
