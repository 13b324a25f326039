"""One module per figure: ``compute(size)`` makes the data, ``plot(data, out)`` draws it.

``python -m figures`` (``make figures``) runs every figure in :data:`FIGURES`: the data step's
result is cached in ``figures/data/NAME.npz`` together with a ``.json`` of its parameters and
versions, and reused while they are unchanged, so restyling a plot never recomputes.
"""

FIGURES = [
    "figures.gain_vs_shift",
    "figures.trends",
    "figures.phase",
    "figures.failure",
    "figures.group_risks",
    "figures.predicted_vs_empirical",
    "figures.deep_sweep",
    "figures.deep_tweets",
]
