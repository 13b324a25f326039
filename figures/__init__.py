"""The paper's figures: one module per figure, found by :data:`FIGURES`, built by ``python -m figures``.

A module of this package is a figure when it assigns ``ORDER = <int>`` at top level (its place
in a build) and then follows the protocol of :mod:`figures._common`: ``params(size)``, the
JSON-able parameters of its data step; ``compute(p)``, the data (arrays); ``plot(data, p)``, its
outputs by file stem (matplotlib Figures, saved as PNG and PDF; strings, saved as Markdown).
Adding a figure is adding one such file (figures/README.md has a template).

A module may also assign ``GROUP = "deep"``: ``make figures`` (``python -m figures --group theory``)
builds the theory figures, ``make deep`` the deep-model ones, ``python -m figures`` all of them.
Each build caches its data step's result in ``figures/data/NAME.npz``, beside a ``.json`` of its
parameters and a hash of the code that computes it (the module without ``plot``, and the packages it runs), and reused
while both are unchanged, so restyling a plot never recomputes. Modules whose names start with
``_`` are not figures.
"""

from __future__ import annotations

import ast
import pkgutil
from pathlib import Path


def _constant(path: Path, name: str, kind: type):
    """The module's top-level ``NAME = <literal>``, read without importing it; None if it has none."""
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.Assign) and [getattr(t, "id", None) for t in node.targets] == [name]:
            value = ast.literal_eval(node.value)
            if type(value) is not kind:
                raise TypeError(f"{path}: {name} must be a {kind.__name__}, not {value!r}")
            return value
    return None


def _discover() -> dict[str, str]:
    """The figure modules of this package by (ORDER, name), each with its ``GROUP`` (default ``"theory"``)."""
    found = []
    for info in pkgutil.iter_modules(__path__):
        if info.name.startswith("_") or info.ispkg:
            continue
        path = Path(info.module_finder.path) / f"{info.name}.py"
        order = _constant(path, "ORDER", int)
        if order is not None:
            found.append((order, info.name, _constant(path, "GROUP", str) or "theory"))
    return {f"{__name__}.{name}": group for _, name, group in sorted(found)}


GROUPS = _discover()  # module -> group: "theory" (make figures) or "deep" (make deep)
FIGURES = list(GROUPS)
