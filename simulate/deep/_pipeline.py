r"""One W2S configuration: teacher, W2S student, Enhanced-W2S student, ceiling, and linear probes.

Pipeline (reference: "Does Weak-to-strong Generalization Happen under Spurious Correlations?",
Liu, Dong, Lei, ICLR 2026, arXiv:2509.24005: its W2S setting and Enhanced-W2S), on frozen features of a weak
and a strong backbone:

1. teacher head on the weak backbone's features of the labeled set ``(n, eta_l)``;
2. hard pseudolabels of the teacher on the unlabeled set ``(N, eta_u)``;
3. W2S student head on the strong backbone's features, cross-entropy on the pseudolabels;
4. Enhanced-W2S (the paper's recipe, no group labels): rank the unlabeled points by the entropy
   of the W2S student's predictive distribution, keep the fraction ``p`` with the lowest
   entropy, and continue training the W2S student's head on that subset's (teacher)
   pseudolabels with GCE(``q``). Unless ``p`` and ``q`` are given, they are chosen on
   :data:`P_GRID` x :data:`Q_GRID` by accuracy on a validation set ``(n_val, eta_l)`` drawn
   like the labeled set (true labels, no group labels);
5. strong ceiling: a fresh student head on the unlabeled set's true labels.

Data sets (:data:`DATASETS`): ``"tweets"`` (real text, MiniLM encoders; :mod:`._tweets`) and
``"digits"`` (coloured digits, small equinox backbones; :mod:`._data`). Accuracies are measured
per group ``g = 2 y + a`` on the test split (balanced over the four groups); the average
accuracy at test minority fraction ``eta_t`` is
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

from w2s.problem import ProblemError

from ._backbones import PAIRS, BackboneSpec, all_features
from ._data import Split, load_coloured_digits
from ._heads import entropy, predict_logits, select_confident, train_head

__all__ = [
    "DATASETS",
    "ETA_O",
    "MODELS",
    "P_GRID",
    "Q_GRID",
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
P_GRID = (0.25, 0.5, 0.75)
Q_GRID = (0.4, 0.7, 1.0)


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
        n, eta_l: labeled set size and minority fraction (None = the data set's default size).
        N, eta_u: unlabeled set size and minority fraction.
        n_val: validation set size (minority fraction eta_l), for choosing (p, q).
        p: fraction of the unlabeled set kept by Enhanced-W2S, in (0, 1]; None = chosen on validation.
        q: GCE exponent, in (0, 1]; None = chosen on validation.
        eta_t: test minority fraction for the average accuracy, in [0, 1].
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
    p: float | None = None
    q: float | None = None
    eta_t: float = 0.5
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
        for name in ("n", "N", "n_val", "steps"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1:
                raise DeepConfigError(name, f"must be a positive integer, got {v!r}")
        for name, lo_open in (("eta_l", False), ("eta_u", False), ("eta_t", False), ("p", True), ("q", True)):
            v = getattr(self, name)
            if v is None and name in ("p", "q"):
                continue
            if isinstance(v, bool) or not isinstance(v, (int, float, np.number)) or not math.isfinite(v):
                raise DeepConfigError(name, f"must be a finite number, got {v!r}")
            if not ((0 < v if lo_open else 0 <= v) and v <= 1):
                raise DeepConfigError(name, f"must lie in {'(0, 1]' if lo_open else '[0, 1]'}, got {v!r}")
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
        if self.name == "digits":
            return load_coloured_digits().check_sizes(c.n, c.eta_l, c.N, c.eta_u, c.n_val, c.eta_l)
        from ._tweets import load_tweets

        return load_tweets(self.size).check_sizes(c.n, c.eta_l, c.N, c.eta_u, c.n_val, c.eta_l)

    def draw(self, key: jax.Array, c: DeepConfig) -> tuple[Split, Split, Split]:
        """Disjoint labeled, unlabeled and validation sets (exact group counts)."""
        if self.name == "digits":
            return load_coloured_digits().sample_w2s(key, c.n, c.eta_l, c.N, c.eta_u, c.n_val, c.eta_l)
        from ._tweets import load_tweets

        lab, unl, val = load_tweets(self.size).sample(key, [(c.n, c.eta_l), (c.N, c.eta_u), (c.n_val, c.eta_l)])
        return lab, unl, val

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


def _group_accuracy(logits: jax.Array, y: np.ndarray, group: np.ndarray) -> np.ndarray:
    correct = np.asarray(jnp.argmax(logits, axis=-1)) == y
    return np.array([correct[group == g].mean() for g in range(4)])


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
def run_w2s(
    config: DeepConfig,
    *,
    key: jax.Array,
    progress: bool = False,
    specs: tuple[BackboneSpec, BackboneSpec] | None = None,
    with_probes: bool = True,
) -> dict[str, Any]:
    """Run one configuration; same ``key`` -> identical results.

    ``specs`` (weak, strong) replaces the digits backbones of ``config.pair`` (tests use tiny ones).

    Returns a dict with ``dataset``, ``pair``, ``config``; for each of :data:`MODELS`
    ``group_acc`` (4 groups, g = 2y + a), ``average`` (at ``config.eta_t``) and ``worst_group``
    (``enhanced`` also its ``p``, ``q`` and the validation accuracy of every grid point);
    ``gain`` and ``pgr`` of the W2S and Enhanced-W2S students (each ``{"average",
    "worst_group"}``; PGR = (student - teacher)/(ceiling - teacher)); ``relative_improvement`` of
    Enhanced-W2S over W2S in % (``100 (enh - w2s)/w2s``); ``pseudolabels`` (accuracy all /
    majority / minority, per group, and the kept subset's size, minority fraction, accuracy);
    and, with ``with_probes``, ``probes`` per backbone (:func:`probes`).
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
    k_data, k_t, k_s, k_c = jax.random.split(key, 4)
    lab, unl, val = bench.draw(k_data, config)
    test = bench.test_split()
    train = dict(steps=config.steps, lr=config.lr, l2=config.l2)

    teacher = train_head(fw(lab), lab.y, key=k_t, **train)
    tick("teacher")
    pseudo = np.asarray(jnp.argmax(predict_logits(teacher, jnp.asarray(fw(unl))), axis=-1)).astype(np.int32)
    f_unl = jnp.asarray(fs(unl))
    student = train_head(f_unl, pseudo, key=k_s, **train)
    tick("w2s student")
    scores = entropy(predict_logits(student, f_unl))
    grid = [(p, q) for p in ((config.p,) if config.p is not None else P_GRID)
            for q in ((config.q,) if config.q is not None else Q_GRID)]  # fmt: skip
    f_val = fs(val)
    best = None
    val_acc = []
    for p, q in grid:
        keep = select_confident(scores, p)
        head = train_head(f_unl, pseudo, init=student, weights=keep.astype(jnp.float32), loss="gce", q=q, **train)
        acc = _accuracy(head, f_val, val.y)
        val_acc.append(acc)
        if best is None or acc > best[0]:  # ties keep the earlier grid point
            best = (acc, p, q, head, keep)
    _, p_best, q_best, enhanced, keep = best
    tick("enhanced")
    ceiling = train_head(f_unl, unl.y, key=k_c, **train)
    tick("ceiling")

    heads = {"teacher": (teacher, fw), "w2s": (student, fs), "enhanced": (enhanced, fs), "ceiling": (ceiling, fs)}
    out: dict[str, Any] = {"dataset": config.dataset, "pair": config.pair, "config": config.to_dict()}
    for name, (head, feats) in heads.items():
        g = _group_accuracy(predict_logits(head, jnp.asarray(feats(test))), test.y, test.group)
        out[name] = {
            "group_acc": g.tolist(),
            "average": float(average_accuracy(g, config.eta_t)),
            "worst_group": float(g.min()),
        }
    validation = {f"p={p:g},q={q:g}": a for (p, q), a in zip(grid, val_acc, strict=True)}
    out["enhanced"].update(p=p_best, q=q_best, validation=validation)
    tick("evaluate")
    if bar is not None:
        bar.close()
    metrics = ("average", "worst_group")
    for student_name, tag in (("w2s", ""), ("enhanced", "_enhanced")):
        out[f"gain{tag}"] = {m: out[student_name][m] - out["teacher"][m] for m in metrics}
        out[f"pgr{tag}"] = {
            m: _ratio(out[student_name][m] - out["teacher"][m], out["ceiling"][m] - out["teacher"][m]) for m in metrics
        }
    out["relative_improvement"] = {
        m: 100.0 * _ratio(out["enhanced"][m] - out["w2s"][m], out["w2s"][m]) for m in metrics
    }
    right = pseudo == unl.y
    keep_np = np.asarray(keep)
    out["pseudolabels"] = {
        "acc": float(right.mean()),
        "acc_majority": _mean(right[~unl.minority]),
        "acc_minority": _mean(right[unl.minority]),
        "acc_group": [_mean(right[unl.group == g]) for g in range(4)],
        "kept": int(keep_np.sum()),
        "kept_minority_fraction": float(unl.minority[keep_np].mean()),
        "kept_acc": float(right[keep_np].mean()),
    }
    if with_probes and specs is None:
        out["probes"] = {b: probes(config.dataset, b, size=config.size) for b in names}
    return out


def _ratio(a: float, b: float) -> float:
    return float(a / b) if b != 0 else float("nan")


def _mean(x: np.ndarray) -> float:
    return float(x.mean()) if x.size else float("nan")
