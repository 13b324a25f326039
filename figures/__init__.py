"""The paper's figures: one module per figure, found by :data:`FIGURES`, built by ``python -m figures``.

A module of this package is a figure when it assigns ``ORDER = <int>`` at top level (its place
in a build) and then follows the protocol of :mod:`figures._common`: ``params(size)``, the
JSON-able parameters of its data step; ``compute(p)``, the data (arrays); ``plot(data, p)``, its
outputs by file stem (matplotlib Figures, saved as PNG and PDF; strings, saved as Markdown).
Adding a figure is adding one such file (figures/README.md has a template).

``python -m figures`` (``make figures``) builds every figure in :data:`FIGURES`: the data step's
result is cached in ``figures/data/NAME.npz`` beside a ``.json`` of its parameters and a hash of
the code that computes it (the module without ``plot``, and the packages it runs), and reused
while both are unchanged, so restyling a plot never recomputes. Modules whose names start with
``_``, and ``explore`` (the marimo app of ``w2s explore``), are not figures.
"""

from __future__ import annotations

import ast
import pkgutil
from pathlib import Path


def _order(path: Path) -> int | None:
    """The module's top-level ``ORDER = <int>``, read without importing it; None if it has none."""
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.Assign) and [getattr(t, "id", None) for t in node.targets] == ["ORDER"]:
            value = ast.literal_eval(node.value)
            if type(value) is not int:
                raise TypeError(f"{path}: ORDER must be an int, not {value!r}")
            return value
    return None


def _discover() -> list[str]:
    """The figure modules of this package by (ORDER, name)."""
    found = []
    for info in pkgutil.iter_modules(__path__):
        if info.name.startswith("_") or info.ispkg:
            continue
        order = _order(Path(info.module_finder.path) / f"{info.name}.py")
        if order is not None:
            found.append((order, info.name))
    return [f"{__name__}.{name}" for _, name in sorted(found)]


FIGURES = _discover()
