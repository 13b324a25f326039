"""The model's setting: the ground that the theory, the simulator and the application stand on.

* :mod:`setting.problem`: the one problem specification (:class:`Problem`), validated field by field;
* :mod:`setting.groups`: the group models, the law of the group features given eta;
* :mod:`setting.moments`: their population moments;
* :mod:`setting.risks`: the names of the reported risks and gains.

Importing this package turns on JAX's float64 (the theory is written in double precision), and
:func:`cache_root` is the one place that says where every on-disk cache of the project lives.
"""

import os
from pathlib import Path

import jax

jax.config.update("jax_enable_x64", True)

from .groups import LAWS, GroupLaw, group_law  # noqa: E402
from .problem import FIELDS, GROUP_MODELS, Problem, ProblemError, load_problem  # noqa: E402
from .risks import RISK_NAMES, THEORY_NAMES, risk_dict  # noqa: E402

__version__ = "0.1.0"

__all__ = [
    "FIELDS",
    "GROUP_MODELS",
    "LAWS",
    "GroupLaw",
    "Problem",
    "ProblemError",
    "RISK_NAMES",
    "THEORY_NAMES",
    "__version__",
    "cache_root",
    "group_law",
    "group_models",
    "load_problem",
    "risk_dict",
]


def cache_root() -> Path:
    """The folder of every on-disk cache (compiled theory programs, JAX's compilation cache,
    deep-path backbones and features): ``$W2S_CACHE`` if set, else
    ``$XDG_CACHE_HOME/w2s-spurious``, else ``~/.cache/w2s-spurious``."""
    if env := os.environ.get("W2S_CACHE"):
        return Path(env)
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "w2s-spurious"


def group_models() -> tuple[str, ...]:
    """The names of every registered group model (:data:`setting.groups.LAWS`), in registration
    order: what figures, tables and summaries that list models iterate over."""
    return tuple(LAWS)
