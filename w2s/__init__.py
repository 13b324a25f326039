"""w2s-spurious: weak-to-strong generalization under spurious correlations, theory and simulation.

The package ``w2s`` holds the shared problem specification and the command line; the theory
lives in :mod:`asymptotics`, the Monte Carlo in :mod:`simulate`.
"""

import jax

jax.config.update("jax_enable_x64", True)

from .problem import FIELDS, GROUP_MODELS, Problem, ProblemError, load_problem  # noqa: E402

__version__ = "0.1.0"

__all__ = ["FIELDS", "GROUP_MODELS", "Problem", "ProblemError", "load_problem", "use_jax_cache", "__version__"]


def use_jax_cache() -> None:
    """Keep JAX's compiled programs on disk for long runs (``make figures``, ``w2s claims``):
    ``$W2S_JAX_CACHE``, default ``$XDG_CACHE_HOME/w2s-spurious/jax`` (``~/.cache/...``)."""
    import os
    from pathlib import Path

    default = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "w2s-spurious" / "jax"
    jax.config.update("jax_compilation_cache_dir", os.environ.get("W2S_JAX_CACHE", str(default)))
