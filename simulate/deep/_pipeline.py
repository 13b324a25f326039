r"""One W2S configuration: teacher, W2S student, Enhanced-W2S student, ceiling, and linear probes.

Pipeline (reference: "Does Weak-to-strong Generalization Happen under Spurious Correlations?",
Liu, Dong, Lei, ICLR 2026, arXiv:2509.24005: its W2S setting and Enhanced-W2S), on frozen
features of a weak and a strong backbone. The labeled budget is ``n`` true labels: ``n - n_bal``
train the teacher, ``n_bal`` form a group-balanced validation set; nothing else is labeled.

1. teacher head on the weak backbone's features of the labeled set ``(n - n_bal, eta_l)``;
2. pseudolabels of the teacher on the unlabeled set ``(N, eta_u)``: hard (its argmax) or soft
   (its predictive probabilities), ``labels``;
3. W2S student head on the strong backbone's features, cross-entropy on the pseudolabels;
4. Enhanced-W2S (the paper's recipe, no group labels in training): rank the unlabeled points
   by the entropy of the W2S student's predictive distribution, keep the fraction ``p`` with the
   lowest entropy, and continue training the W2S student's head on that subset's (teacher)
   pseudolabels with GCE(``q``) (``q = 0``: the cross-entropy, GCE's limit). Every point of
   :data:`P_GRID` x :data:`Q_GRID` (``p = 1`` keeps everything, so plain W2S is in reach) is
   trained, and beside it a *random* subset of the same size (the control of the selection).
   Three rules pick ``(p, q)`` (:data:`RULES`):

   * ``label_free``: agreement with the teacher's hard pseudolabels on a validation set
     ``(n_val, eta_u)`` drawn like the unlabeled set (no true label);
   * ``balanced_val``: worst-group accuracy (ties: accuracy) on the group-balanced validation
     set ``(n_bal, eta_t)`` whose true labels come out of the budget ``n``;
   * ``oracle``: worst-group accuracy (ties: average) on the test set itself, an upper bound
     of what a rule can reach, never a result;

   ties keep the earlier grid point (``p = 1``, ``q = 0`` first);
5. strong ceiling: a fresh student head on the unlabeled set's true labels.

Data sets (:data:`DATASETS`): ``"tweets"`` (real text, MiniLM encoders; :mod:`._tweets`) and
``"digits"`` (coloured digits, small equinox backbones; :mod:`._data`). Accuracies are measured
per group ``g = 2 y + a`` on the test split (balanced over the four groups), by default on a
bootstrap draw of it per run (``resample_test``: within each group, as many tweets with
replacement), so that the spread over seeds includes the test set's sampling error; the
average accuracy at test minority fraction ``eta_t`` is
:math:`(1-\eta_t)\,\mathrm{acc}_{maj} + \eta_t\,\mathrm{acc}_{min}` with each of
:math:`\mathrm{acc}_{maj}, \mathrm{acc}_{min}` the mean over its two (class) groups; the
worst-group accuracy is the minimum over the four groups.
"""

from __future__ import annotations

import dataclasses
import functools
import math
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from setting.problem import ProblemError

from ._backbones import PAIRS, BackboneSpec, all_features
from ._data import Split, group_counts, load_coloured_digits
from ._heads import (
    entropy,
    predict_logits,
    predict_logits_many,
    select_confident,
    select_random,
    train_head,
    train_heads,
)

__all__ = [
    "DATASETS",
    "ETA_O",
    "LABELS",
    "MODELS",
    "P_GRID",
    "Q_GRID",
    "RULES",
    "TEXT_PAIRS",
    "TextPair",
    "DeepConfig",
    "DeepConfigError",
    "average_accuracy",
    "probes",
    "run_w2s",
]

MODELS = ("teacher", "w2s", "enhanced", "ceiling")
ETA_O = 0.1  # the paper's eta_o: the small minority fraction of the mismatch settings
# Enhanced-W2S's grid: p = 1 keeps everything and q = 0 is the cross-entropy, so that with
# (1, 0) the remedy reduces to more training of plain W2S; the grid's first point wins ties.
P_GRID = (1.0, 0.75, 0.5, 0.25)
Q_GRID = (0.0, 0.4, 0.7, 1.0)
RULES = ("label_free", "balanced_val", "oracle")  # how (p, q) is chosen; oracle is an upper bound
LABELS = ("hard", "soft")  # the student's targets: the teacher's argmax or its probabilities
# dataset -> default n_bal: the group-balanced validation labels, part of the labeled budget n
N_BAL = {"tweets": 40, "digits": 20}


class TextPair(tuple):
    """A tweets pair: the tuple ``(weak, strong)`` of encoder names (:data:`simulate.deep.ENCODERS`),
    carrying a one-line ``description``; unpacks and compares like the plain 2-tuple."""

    description: str

    def __new__(cls, weak: str, strong: str, description: str):
        self = super().__new__(cls, (weak, strong))
        self.description = description
        return self

    def __getnewargs__(self):
        return (*self, self.description)


TEXT_PAIRS: dict[str, TextPair] = {
    "minilm-l1/minilm": TextPair(
        "minilm-l1", "minilm", "teacher: the student's own first block (a view of the student network)"
    ),
    "minilm-static/minilm": TextPair(
        "minilm-static", "minilm", "teacher: the student's word-embedding table, mean-pooled (a view of it)"
    ),
    "tfidf/minilm": TextPair(
        "tfidf", "minilm", "teacher: a TF-IDF bag-of-words linear model, fitted on the pool (no pre-training)"
    ),
    "minilm-l3/minilm": TextPair(
        "minilm-l3", "minilm", "teacher: paraphrase-MiniLM-L3-v2, a different, shallower pre-trained network"
    ),
}
# dataset -> default pair, its pairs, default (n, N, n_val)
DATASETS: dict[str, dict[str, Any]] = {
    "tweets": {"pair": "minilm-static/minilm", "pairs": TEXT_PAIRS, "sizes": (200, 2000, 400)},
    "digits": {"pair": "mlp-tiny/mlp-wide", "pairs": PAIRS, "sizes": (100, 600, 100)},
}


class DeepConfigError(ProblemError):
    """Invalid deep-path configuration; ``field`` names the offending field."""

    def __init__(self, field: str, message: str):
        super().__init__(f"{field}: {message}")
        self.field = field
        self.rule = message


@dataclasses.dataclass(frozen=True)
class DeepConfig:
    """One configuration of the deep path; validated on construction.

    Attributes:
        dataset: ``"tweets"`` or ``"digits"`` (:data:`DATASETS`).
        pair: weak/strong pair of that data set; None = its default.
        n, eta_l: labeled budget and the teacher's minority fraction (None = the data set's default
            size); the teacher trains on ``n - n_bal`` of the labels.
        N, eta_u: unlabeled set size and minority fraction.
        n_val: size of the label-free validation set (minority fraction eta_u, labelled by the
            teacher; rule ``label_free``).
        n_bal: labels of the budget ``n`` set aside as a group-balanced validation set at eta_t
            (rule ``balanced_val``); None = :data:`N_BAL` of the data set.
        p: fraction of the unlabeled set kept by Enhanced-W2S, in (0, 1]; None = chosen by ``rule``.
        q: GCE exponent, in [0, 1] (0 = cross-entropy); None = chosen by ``rule``.
        eta_t: test minority fraction for the average accuracy, in [0, 1].
        rule: the rule whose ``(p, q)`` the top-level ``enhanced`` result reports (:data:`RULES`;
            every rule is always reported).
        labels: the student's targets, ``"hard"`` or ``"soft"`` (:data:`LABELS`).
        resample_test: score on a bootstrap draw of the test set (per run) instead of the fixed set.
        steps, lr, l2: head training (full-batch Adam steps, learning rate, weight penalty).
        size: tweet set (``"full"`` or ``"small"``, :data:`simulate.deep.TWEET_SIZES`); digits ignore it.
    """

    dataset: str = "tweets"
    pair: str | None = None
    n: int | None = None
    eta_l: float = ETA_O
    N: int | None = None
    eta_u: float = ETA_O
    n_val: int | None = None
    n_bal: int | None = None
    p: float | None = None
    q: float | None = None
    eta_t: float = 0.5
    rule: str = "balanced_val"
    labels: str = "hard"
    resample_test: bool = True
    steps: int = 300
    lr: float = 0.05
    l2: float = 1e-3
    size: str = "full"

    def __post_init__(self) -> None:
        if self.dataset not in DATASETS:
            raise DeepConfigError("dataset", f"unknown data set {self.dataset!r} (known: {', '.join(DATASETS)})")
        info = DATASETS[self.dataset]
        if self.pair is None:
            object.__setattr__(self, "pair", info["pair"])
        if self.pair not in info["pairs"]:
            raise DeepConfigError(
                "pair", f"unknown pair {self.pair!r} for {self.dataset} (known: {', '.join(info['pairs'])})"
            )
        for name, default in zip(("n", "N", "n_val"), info["sizes"], strict=True):
            if getattr(self, name) is None:
                object.__setattr__(self, name, default)
        if self.n_bal is None:
            object.__setattr__(self, "n_bal", min(N_BAL[self.dataset], max(self.n - 1, 1)))
        for name in ("n", "N", "n_val", "n_bal", "steps"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1:
                raise DeepConfigError(name, f"must be a positive integer, got {v!r}")
        if self.n_bal >= self.n:
            raise DeepConfigError(
                "n_bal", f"must be less than n = {self.n} (its labels come out of the labeled budget), got {self.n_bal}"
            )
        for name, lo_open in (("eta_l", False), ("eta_u", False), ("eta_t", False), ("p", True), ("q", False)):
            v = getattr(self, name)
            if v is None and name in ("p", "q"):
                continue
            if isinstance(v, bool) or not isinstance(v, (int, float, np.number)) or not math.isfinite(v):
                raise DeepConfigError(name, f"must be a finite number, got {v!r}")
            if not ((0 < v if lo_open else 0 <= v) and v <= 1):
                raise DeepConfigError(name, f"must lie in {'(0, 1]' if lo_open else '[0, 1]'}, got {v!r}")
        if self.rule not in RULES:
            raise DeepConfigError("rule", f"unknown selection rule {self.rule!r} (known: {', '.join(RULES)})")
        if self.labels not in LABELS:
            raise DeepConfigError("labels", f"unknown labels mode {self.labels!r} (known: {', '.join(LABELS)})")
        if not isinstance(self.resample_test, bool):
            raise DeepConfigError("resample_test", f"must be True or False, got {self.resample_test!r}")
        if not (isinstance(self.lr, (int, float)) and math.isfinite(self.lr) and self.lr > 0):
            raise DeepConfigError("lr", f"must be a finite number > 0, got {self.lr!r}")
        if not (isinstance(self.l2, (int, float)) and math.isfinite(self.l2) and self.l2 >= 0):
            raise DeepConfigError("l2", f"must be a finite number >= 0, got {self.l2!r}")
        from ._tweets import SIZES

        if self.size not in SIZES:
            raise DeepConfigError("size", f"unknown tweet set {self.size!r} (known: {', '.join(SIZES)})")
        why = _bench(self.dataset, self.size).check_sizes(self)
        if why is not None:
            field, _, msg = why.partition(": ")
            raise DeepConfigError(field, msg)

    @property
    def backbones(self) -> tuple[str, str]:
        return DATASETS[self.dataset]["pairs"][self.pair]

    @property
    def sets(self) -> tuple[tuple[str, int, float], ...]:
        """The disjoint sets drawn from the pool, in drawing order: ``(field, size, minority fraction)``.

        The unlabeled set comes first, so it (and the ceiling trained on it) depends only on the
        seed, ``N`` and ``eta_u``, not on the labeled sets."""
        return (
            ("N", self.N, self.eta_u),
            ("n_val", self.n_val, self.eta_u),
            ("n", self.n - self.n_bal, self.eta_l),
            ("n_bal", self.n_bal, self.eta_t),
        )

    def replace(self, **changes) -> DeepConfig:
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


# ------------------------------------------------------------------------------ data sets
@dataclasses.dataclass(frozen=True)
class _Bench:
    """A data set seen by the pipeline: how to draw sets, the test split, and features of a split."""

    name: str
    size: str

    def check_sizes(self, c: DeepConfig) -> str | None:
        """None if the disjoint sets of ``c`` (:attr:`DeepConfig.sets`) fit in the pool, else why not
        (a message starting with the field of the set that overflows)."""
        if self.name == "digits":  # each pool image once, in either colour: a budget per class
            cap = dict(enumerate(load_coloured_digits().capacity()))
            parts = {y: (3 * y, 1 + y) for y in (0, 1)}
        else:
            group = self.pool_split().group
            cap = {g: int(np.sum(group == g)) for g in range(4)}
            parts = {g: (g,) for g in range(4)}
        need = dict.fromkeys(cap, 0)
        order = ("n", "N", "n_val", "n_bal")  # whether they fit does not depend on the order; the message does
        for field, m, eta in sorted(c.sets, key=lambda s: order.index(s[0])):
            counts = group_counts(m, eta)
            for part, groups in parts.items():
                need[part] += sum(counts[g] for g in groups)
                if need[part] > cap[part]:
                    what = f"class y={part}" if self.name == "digits" else f"group (y={part // 2}, a={part % 2})"
                    return (
                        f"{field}: the labeled, unlabeled and validation sets up to this one need "
                        f"{need[part]} examples of {what} but the pool holds {cap[part]}"
                    )
        return None

    def draw(self, key: jax.Array, c: DeepConfig) -> list[Split]:
        """Disjoint unlabeled, label-free validation, labeled and balanced validation sets
        (:attr:`DeepConfig.sets`, exact group counts)."""
        sizes = [(m, eta) for _, m, eta in c.sets]
        if self.name == "digits":
            return load_coloured_digits().sample(key, sizes)
        from ._tweets import load_tweets

        return load_tweets(self.size).sample(key, sizes)

    def test_split(self) -> Split:
        if self.name == "digits":
            return load_coloured_digits().test_split()
        from ._tweets import load_tweets

        return load_tweets(self.size).test_split()

    def pool_split(self) -> Split:
        """Every pool example (digits: every pool image in both colours), for the probes."""
        if self.name == "digits":
            d = load_coloured_digits()
            idx = np.r_[d.pool, d.pool]
            a = np.r_[np.zeros(len(d.pool), np.int32), np.ones(len(d.pool), np.int32)]
            return Split(idx, d.y[idx].astype(np.int32), a)
        from ._tweets import load_tweets

        return load_tweets(self.size).pool_split()

    def features(self, backbone: str | BackboneSpec, progress: bool = False) -> Callable[[Split], np.ndarray]:
        """``split -> (m, d)`` float32 frozen features of the split's examples.

        Digits: the backbone's standardised features of each image in its colour. Tweets: the
        cached MiniLM sentence features, standardised per coordinate with the pool's mean and
        standard deviation (the test split plays no part in the statistics).
        """
        if self.name == "digits":
            f = all_features(backbone, progress=progress)
            return lambda s: f[s.a, s.index]
        f = _standardised_tweet_features(backbone, self.size, progress)
        return lambda s: f[s.index]


@functools.lru_cache(maxsize=8)
def _bench(name: str, size: str) -> _Bench:
    return _Bench(name, size if name == "tweets" else "-")


@functools.lru_cache(maxsize=8)
def _standardised_tweet_features(encoder: str, size: str, progress: bool) -> np.ndarray:
    from ._text_features import tweet_features
    from ._tweets import load_tweets

    f = tweet_features(encoder, size, progress=progress)
    pool = f[load_tweets(size).pool]
    return ((f - pool.mean(0)) / (pool.std(0) + 1e-6)).astype(np.float32)


# ---------------------------------------------------------------------------------- metrics
def average_accuracy(group_acc, eta_t: float):
    """Accuracy at test minority fraction ``eta_t`` from per-group accuracies ``[..., 4]`` (g = 2y + a)."""
    g = np.asarray(group_acc)
    maj = 0.5 * (g[..., 0] + g[..., 3])
    mino = 0.5 * (g[..., 1] + g[..., 2])
    return (1.0 - eta_t) * maj + eta_t * mino


def _group_accuracy(logits: jax.Array, y: np.ndarray, group: np.ndarray, weights: np.ndarray | None = None):
    """Accuracy per group ``g = 2y + a``: ``(..., m, k)`` logits -> ``(..., 4)`` (NaN for an absent group).

    ``weights`` ``(m,)`` counts each example that many times (a bootstrap draw of the set)."""
    correct = (np.asarray(jnp.argmax(logits, axis=-1)) == y).astype(np.float64)
    w = np.ones(len(y)) if weights is None else np.asarray(weights, np.float64)
    G = (group[:, None] == np.arange(4)[None, :]) * w[:, None]  # (m, 4)
    total = G.sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(total > 0, (correct @ G) / np.where(total > 0, total, 1.0), np.nan)


def _bootstrap_weights(key: jax.Array, group: np.ndarray) -> np.ndarray:
    """How often each test example is drawn when each group is resampled with replacement to its own size."""
    from ._data import _rng

    rng = _rng(key)
    w = np.zeros(len(group))
    for g in range(4):
        idx = np.flatnonzero(group == g)
        if idx.size:
            np.add.at(w, idx[rng.integers(0, idx.size, idx.size)], 1.0)
    return w


def _accuracy(head, feats, y) -> float:
    return float(np.mean(np.asarray(jnp.argmax(predict_logits(head, jnp.asarray(feats)), -1)) == y))


@functools.lru_cache(maxsize=32)
def _probes_cached(dataset: str, size: str, backbone: str, steps: int) -> tuple[float, float]:
    bench = _bench(dataset, size)
    feats = bench.features(backbone)
    train, test = bench.pool_split(), bench.test_split()
    out = []
    for target in ("y", "a"):
        head = train_head(feats(train), getattr(train, target), key=jax.random.key(0), steps=steps)
        out.append(_accuracy(head, feats(test), getattr(test, target)))
    return out[0], out[1]


def probes(dataset: str, backbone: str, *, size: str = "full", steps: int = 300) -> dict[str, float]:
    """Linear-probe test accuracy of the label and of the spurious attribute from a backbone's features.

    A linear head (:func:`train_head`, ``steps`` Adam steps, seed 0) is fitted on the whole pool
    (tweets: balanced over the four groups; digits: every pool image in both colours, so the
    attribute is independent of the label) to predict ``y``, and another to predict ``a``;
    both are scored on the test split (balanced over the groups). Chance is 0.5 for both.

    Returns ``{"label": acc_y, "attribute": acc_a}``.
    """
    y, a = _probes_cached(dataset, size if dataset == "tweets" else "-", backbone, steps)
    return {"label": y, "attribute": a}


# --------------------------------------------------------------------------------- pipeline
_CEILINGS: dict = {}  # in-process memo of ceiling heads (a pure function of its inputs; sweeps share it)


def _ceiling(bench: _Bench, strong, f_unl: jax.Array, unl: Split, key: jax.Array, train: dict):
    if not isinstance(strong, str):
        return train_head(f_unl, unl.y, key=key, **train)
    memo = (bench, strong, unl.index.tobytes(), unl.y.tobytes(), np.asarray(jax.random.key_data(key)).tobytes(),
            tuple(sorted(train.items())))  # fmt: skip
    if memo not in _CEILINGS:
        if len(_CEILINGS) >= 256:
            _CEILINGS.pop(next(iter(_CEILINGS)))
        _CEILINGS[memo] = train_head(f_unl, unl.y, key=key, **train)
    return _CEILINGS[memo]


def _pick(*criteria: np.ndarray) -> int:
    """Index of the lexicographically largest criteria; the first such index on ties."""
    rows = list(zip(*(np.nan_to_num(np.asarray(c, np.float64), nan=-np.inf).tolist() for c in criteria), strict=True))
    return max(range(len(rows)), key=rows.__getitem__)


def _scores(g: np.ndarray, eta_t: float) -> dict[str, Any]:
    return {"group_acc": g.tolist(), "average": float(average_accuracy(g, eta_t)), "worst_group": float(np.nanmin(g))}


def run_w2s(
    config: DeepConfig,
    *,
    key: jax.Array,
    progress: bool = False,
    specs: tuple[BackboneSpec, BackboneSpec] | None = None,
    with_probes: bool = True,
    remedy: bool = True,
) -> dict[str, Any]:
    """Run one configuration; same ``key`` -> identical results.

    ``specs`` (weak, strong) replaces the digits backbones of ``config.pair`` (tests use tiny ones).
    ``remedy=False`` skips Enhanced-W2S (sweeps that only need teacher, W2S and ceiling).

    Returns a dict with ``dataset``, ``pair``, ``config``; for each of ``teacher``, ``w2s``,
    ``ceiling`` (and ``enhanced``) ``group_acc`` (4 groups, g = 2y + a), ``average`` (at
    ``config.eta_t``) and ``worst_group``; ``gain`` and ``pgr`` of the W2S student (each
    ``{"average", "worst_group"}``; PGR = (W2S - teacher)/(ceiling - teacher)); and with the remedy:

    * ``enhanced``: the Enhanced-W2S student at ``config.rule``'s ``(p, q)``, with ``p``, ``q``,
      ``rule``, ``validation`` (that rule's criterion at every grid point), ``rules`` (per rule of
      :data:`RULES`: ``p``, ``q``, ``average``, ``worst_group``, ``group_acc``, and the random-subset
      control's ``random_average``, ``random_worst_group`` at the same ``(p, q)``; ``oracle`` has
      ``upper_bound: True``) and ``grid`` (every ``"p=..,q=.."`` on test: ``average``,
      ``worst_group``, ``random_average``, ``random_worst_group``, ``kept_minority_fraction``,
      ``kept_acc``);
    * ``random_subset``: the control at the chosen ``(p, q)``: a random subset of the same size;
    * ``gain_enhanced``, ``pgr_enhanced``, ``relative_improvement`` (``100 (enh - w2s)/w2s``, %);

    ``pseudolabels`` (accuracy all / majority / minority, per group, and the kept subset's size,
    minority fraction, accuracy at the chosen ``p``); ``test_draw`` (``"bootstrap"`` or
    ``"fixed"``); and, with ``with_probes``, ``probes`` per backbone (:func:`probes`).
    """
    bench = _bench(config.dataset, config.size)
    names = config.backbones
    weak, strong = specs if specs is not None else names
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=6, desc=f"w2s {config.pair}", unit="stage", leave=False)

    def tick(what: str):
        if bar is not None:
            bar.set_postfix_str(what)
            bar.update()

    fw, fs = bench.features(weak, progress), bench.features(strong, progress)
    tick("features")
    k_data, k_t, k_s, k_c, k_r, k_test = jax.random.split(key, 6)
    unl, val, lab, bal = bench.draw(k_data, config)
    test = bench.test_split()
    tw = _bootstrap_weights(k_test, test.group) if config.resample_test else None
    train = dict(steps=config.steps, lr=config.lr, l2=config.l2)

    teacher = train_head(fw(lab), lab.y, key=k_t, **train)
    tick("teacher")
    t_logits = predict_logits(teacher, jnp.asarray(fw(unl)))
    pseudo = np.asarray(jnp.argmax(t_logits, axis=-1)).astype(np.int32)
    targets = pseudo if config.labels == "hard" else jax.nn.softmax(t_logits, axis=-1).astype(jnp.float32)
    f_unl = jnp.asarray(fs(unl))
    student = train_head(f_unl, targets, key=k_s, **train)
    tick("w2s student")
    ceiling = _ceiling(bench, strong, f_unl, unl, k_c, train)
    tick("ceiling")

    f_test = {"w": jnp.asarray(fw(test)), "s": jnp.asarray(fs(test))}
    out: dict[str, Any] = {"dataset": config.dataset, "pair": config.pair, "config": config.to_dict()}
    for name, head, f in (("teacher", teacher, "w"), ("w2s", student, "s"), ("ceiling", ceiling, "s")):
        out[name] = _scores(_group_accuracy(predict_logits(head, f_test[f]), test.y, test.group, tw), config.eta_t)
    out["test_draw"] = "bootstrap" if config.resample_test else "fixed"
    metrics = ("average", "worst_group")
    right = pseudo == unl.y
    out["pseudolabels"] = {
        "acc": float(right.mean()),
        "acc_majority": _mean(right[~unl.minority]),
        "acc_minority": _mean(right[unl.minority]),
        "acc_group": [_mean(right[unl.group == g]) for g in range(4)],
    }
    if remedy:
        _remedy(out, config, student, targets, f_unl, unl, fs, fw(val), val, teacher, bal, f_test["s"], test, tw,
                k_r, train, right)  # fmt: skip
    tick("evaluate")
    if bar is not None:
        bar.close()
    students = (("w2s", ""), ("enhanced", "_enhanced")) if remedy else (("w2s", ""),)
    for student_name, tag in students:
        out[f"gain{tag}"] = {m: out[student_name][m] - out["teacher"][m] for m in metrics}
        out[f"pgr{tag}"] = {
            m: _ratio(out[student_name][m] - out["teacher"][m], out["ceiling"][m] - out["teacher"][m]) for m in metrics
        }
    if remedy:
        out["relative_improvement"] = {
            m: 100.0 * _ratio(out["enhanced"][m] - out["w2s"][m], out["w2s"][m]) for m in metrics
        }
    if with_probes and specs is None:
        out["probes"] = {b: probes(config.dataset, b, size=config.size) for b in names}
    return out


def _remedy(out, config, student, targets, f_unl, unl, fs, fw_val, val, teacher, bal, f_test, test, tw, key, train,
            right) -> None:  # fmt: skip
    """Enhanced-W2S on the whole (p, q) grid with its random-subset controls; the three rules' choices."""
    grid = [(p, q) for p in ((config.p,) if config.p is not None else P_GRID)
            for q in ((config.q,) if config.q is not None else Q_GRID)]  # fmt: skip
    G = len(grid)
    scores = entropy(predict_logits(student, f_unl))
    ps = list(dict.fromkeys(p for p, _ in grid))
    confident = {p: np.asarray(select_confident(scores, p)) for p in ps}
    random = {p: np.asarray(select_random(len(unl), p, key=jax.random.fold_in(key, i))) for i, p in enumerate(ps)}
    masks = np.stack([confident[p] for p, _ in grid] + [random[p] for p, _ in grid]).astype(np.float32)
    heads = train_heads(f_unl, targets, init=student, weights=masks, q=np.array([q for _, q in grid] * 2), **train)
    test_acc = _group_accuracy(predict_logits_many(heads, f_test), test.y, test.group, tw)  # (2G, 4)
    avg, worst = average_accuracy(test_acc, config.eta_t), np.nanmin(test_acc, axis=-1)
    # label-free: agreement with the teacher's hard labels on the label-free validation set
    t_val = np.asarray(jnp.argmax(predict_logits(teacher, jnp.asarray(fw_val)), axis=-1))
    agree = (np.asarray(jnp.argmax(predict_logits_many(heads, jnp.asarray(fs(val))), -1))[:G] == t_val).mean(-1)
    # balanced validation (true labels from the budget): worst group present, then accuracy
    bal_logits = predict_logits_many(heads, jnp.asarray(fs(bal)))[:G]
    bal_group = _group_accuracy(bal_logits, bal.y, bal.group)
    bal_worst = np.nanmin(bal_group, axis=-1)
    bal_acc = (np.asarray(jnp.argmax(bal_logits, -1)) == bal.y).mean(-1)
    chosen = {
        "label_free": (_pick(agree), agree),
        "balanced_val": (_pick(bal_worst, bal_acc), bal_worst),
        "oracle": (_pick(worst[:G], avg[:G]), worst[:G]),
    }
    rules = {}
    for rule, (i, crit) in chosen.items():
        p, q = grid[i]
        rules[rule] = {
            "p": p,
            "q": q,
            **_scores(test_acc[i], config.eta_t),
            "random_average": float(avg[G + i]),
            "random_worst_group": float(worst[G + i]),
            "criterion": {f"p={gp:g},q={gq:g}": float(c) for (gp, gq), c in zip(grid, crit, strict=True)},
        }
    rules["oracle"]["upper_bound"] = True
    i, crit = chosen[config.rule]
    p_best, q_best = grid[i]
    out["enhanced"] = {**_scores(test_acc[i], config.eta_t), "p": p_best, "q": q_best, "rule": config.rule,
                       "validation": rules[config.rule]["criterion"], "rules": rules}  # fmt: skip
    out["enhanced"]["grid"] = {
        f"p={gp:g},q={gq:g}": {
            "average": float(avg[j]), "worst_group": float(worst[j]),
            "random_average": float(avg[G + j]), "random_worst_group": float(worst[G + j]),
            "kept_minority_fraction": float(unl.minority[confident[gp]].mean()),
            "kept_acc": float(right[confident[gp]].mean()),
        }
        for j, (gp, gq) in enumerate(grid)
    }  # fmt: skip
    out["random_subset"] = {"p": p_best, "q": q_best, **_scores(test_acc[G + i], config.eta_t)}
    keep = confident[p_best]
    out["pseudolabels"].update(
        kept=int(keep.sum()),
        kept_minority_fraction=float(unl.minority[keep].mean()),
        kept_acc=float(right[keep].mean()),
    )


def _ratio(a: float, b: float) -> float:
    return float(a / b) if b != 0 else float("nan")


def _mean(x: np.ndarray) -> float:
    return float(x.mean()) if x.size else float("nan")
