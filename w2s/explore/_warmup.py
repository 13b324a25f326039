"""Compiling (or loading) the explorer's theory programs before the first page is drawn."""

from __future__ import annotations

import dataclasses
import threading
import time

from setting.problem import GROUP_MODELS

from ._controls import Controls, problem_from
from ._page import plots_html
from ._theory import _check_methods, evaluate

_warmed: set[tuple[str, ...]] = set()
_warm_lock = threading.Lock()


def warmup(
    controls: Controls | None = None,
    method: str | None = None,
    *,
    compare: tuple[str, ...] | None = None,
    background: bool = True,
) -> float:
    """Compile the theory for the default shapes before the first page; returns the seconds spent.

    The given group model is compiled now; the other group models in a background thread (when
    ``background``), so that switching them later is instant too. Once per process: every
    browser session of ``marimo run`` shares the compiled functions.
    """
    t0 = time.perf_counter()
    controls = controls or Controls()
    method, compare = _check_methods(method, compare)
    key = (method, *compare)

    def run(model: str) -> None:
        problem, _ = problem_from(dataclasses.replace(controls, group_model=model))
        result = evaluate(problem, method, compare=compare)
        plots_html(result, problem)  # first use imports contourpy, the colormaps and PIL

    with _warm_lock:
        if key in _warmed:
            return 0.0
        _warmed.add(key)
        run(controls.group_model)
    rest = [m for m in GROUP_MODELS if m != controls.group_model]
    if background:
        threading.Thread(target=lambda: [run(m) for m in rest], name="w2s-explore-warmup", daemon=True).start()
    else:
        for m in rest:
            run(m)
    return time.perf_counter() - t0
