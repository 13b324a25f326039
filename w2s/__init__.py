"""w2s-spurious: weak-to-strong generalization under spurious correlations, theory and simulation.

The package ``w2s`` is the application: the command line, sweeps, the claims audit, the
validation table and the explorer. It stands on :mod:`setting` (the problem specification, the
group models and their moments), :mod:`asymptotics` (the theory) and :mod:`simulate` (the Monte
Carlo); ``Problem`` and its helpers are re-exported here for users.
"""

import jax

from setting import FIELDS, GROUP_MODELS, Problem, ProblemError, __version__, cache_root, load_problem

__all__ = ["FIELDS", "GROUP_MODELS", "Problem", "ProblemError", "load_problem", "use_jax_cache", "__version__"]


def use_jax_cache() -> None:
    """Keep JAX's compiled programs on disk for long runs (``make figures``, ``w2s claims``):
    ``$W2S_JAX_CACHE``, default ``jax`` in :func:`setting.cache_root`."""
    import os

    jax.config.update("jax_compilation_cache_dir", os.environ.get("W2S_JAX_CACHE", str(cache_root() / "jax")))
