r"""The paper's claims, each read precisely and checked over sampled problems.

"Does Weak-to-strong Generalization Happen under Spurious Correlations?" (Liu, Dong, Lei,
ICLR 2026, arXiv 2509.24005) states its results to leading order in :math:`\gamma_z`, ridgeless,
with :math:`N = \infty`. The audit reads each statement literally (with thresholds of ours, named),
as the paper's own printed formulas support it, and through the mechanisms that make the mixture
model differ; it samples two strata (the paper's regime and a wider box, the same geometries under
every group model) with a fixed seed and evaluates each reading under the printed forms, the
leading-order trace forms and the exact theory. See docs/claims.md.

* :mod:`._definitions`: the claims (:class:`Claim`, :data:`CLAIMS`) and their samplers;
* :mod:`._sampling`: strata, geometries, the effective coupling;
* :mod:`._engine`: batched evaluation, verdicts, Wilson intervals;
* :mod:`._mechanisms`: claim (d)'s thresholds table and the mechanism checks;
* :mod:`._run`: the driver (:func:`run_claims`), counterexamples and simulator checks;
* :mod:`.report`: JSON, Markdown and figures.
"""

from ._definitions import BY_KEY, CLAIMS, Case, Claim
from ._engine import evaluate, summarise, verdicts, wilson, z_star
from ._mechanisms import d_thresholds, leading_threshold, mechanism_checks
from ._run import SEED, SIZES, check_counterexample, choose_counterexamples, run_claims, sample_cases
from ._sampling import STRATA, coordinates, effective_coupling, regime_distance

__all__ = [
    "BY_KEY",
    "CLAIMS",
    "SEED",
    "SIZES",
    "STRATA",
    "Case",
    "Claim",
    "check_counterexample",
    "choose_counterexamples",
    "coordinates",
    "d_thresholds",
    "effective_coupling",
    "evaluate",
    "leading_threshold",
    "mechanism_checks",
    "regime_distance",
    "run_claims",
    "sample_cases",
    "summarise",
    "verdicts",
    "wilson",
    "z_star",
]
