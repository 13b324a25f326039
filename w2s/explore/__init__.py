r"""The interactive phase-diagram explorer (``w2s explore``): its numbers, its page and its app.

The explorer shows, for the setting of "Does Weak-to-strong Generalization Happen under
Spurious Correlations?" (Liu, Dong, Lei, ICLR 2026):

* the W2S gain over the :math:`(\eta_l, \eta_u)` square with its phase boundary (gain = 0);
* the gain against :math:`\eta_u` at the current :math:`\eta_l`, with the maximiser
  :math:`\eta_u^*` marked, for the printed forms and every registered theory method;
* teacher and student risks, printed beside the methods' values.

One idea per module:

* ``_controls``: the slider values (:class:`Controls`) and the :class:`~setting.Problem` they
  stand for (:func:`problem_from`, which adjusts an inadmissible combination and says so);
* ``_theory``: everything the app computes, through :func:`phase_diagram` (the shown method on
  a fixed :data:`GRID`-squared grid; it does not depend on the current eta_l, eta_u) and
  :func:`along` (every form at :data:`CURVE` + 1 values of eta_u), both through
  :func:`asymptotics.evaluate_grid`: compiled programs of fixed batch sizes, kept on disk, so a
  slider move changes only the values fed to them and compiles nothing (``tests/test_explore.py``
  counts the compilations), and a new (group model, p_T, p_S) loads its programs from disk once
  they have been compiled on this machine;
* ``_simulation``: the quick Monte-Carlo check at the current point;
* ``_page``: the page's HTML: the plots as inline SVG built as text (:mod:`w2s._svg`), not
  drawn with matplotlib, and the text beside them;
* ``_warmup``: :func:`warmup` prepares the default shapes before the first page is drawn;
* ``app``: the marimo app, which only lays out the controls and the outputs. It ships inside
  the package, so an installed ``w2s explore`` serves it (``marimo run`` takes its file path).

``explore_slider`` in ``benchmarks/results.json`` times a slider update.
"""

from setting.problem import GROUP_MODELS

from ._controls import P_MAX, Controls, problem_from
from ._page import plots_html, summary_html
from ._simulation import quick_simulation
from ._theory import (
    CURVE,
    GRID,
    PRINTED,
    Along,
    Phase,
    Result,
    along,
    compilations,
    default_method,
    evaluate,
    forms,
    phase_diagram,
)
from ._warmup import warmup

__all__ = [
    "CURVE",
    "GRID",
    "GROUP_MODELS",
    "P_MAX",
    "PRINTED",
    "Along",
    "Controls",
    "Phase",
    "Result",
    "along",
    "compilations",
    "default_method",
    "evaluate",
    "forms",
    "phase_diagram",
    "plots_html",
    "problem_from",
    "quick_simulation",
    "summary_html",
    "warmup",
]
