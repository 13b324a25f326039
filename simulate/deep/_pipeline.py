r"""One W2S configuration on coloured digits: teacher, W2S student, Enhanced-W2S student, ceiling.

Pipeline (reference: "Does Weak-to-strong Generalization Happen under Spurious Correlations?",
Liu, Dong, Lei, ICLR 2026, sections 1 and 7):

1. teacher head on the weak backbone's features of the labeled set ``(n, eta_l)``;
2. hard pseudolabels of the teacher on the unlabeled set ``(N, eta_u)``;
3. W2S student head on the strong backbone's features, cross-entropy on the pseudolabels;
4. Enhanced-W2S: rank the unlabeled points by the entropy of the W2S student's predictive
   distribution, keep the fraction ``p`` with the lowest entropy, and continue training the
   W2S student's head on that subset's (teacher) pseudolabels with GCE(``q``);
5. strong ceiling: a fresh student head on the unlabeled set's true labels.

Accuracies are measured per group on the test split (every test digit in both colours);
average accuracy at minority fraction ``eta_t`` is
:math:`(1-\eta_t)\,\mathrm{acc}_{maj} + \eta_t\,\mathrm{acc}_{min}` with each of
:math:`\mathrm{acc}_{maj}, \mathrm{acc}_{min}` the mean over its two (class) groups; worst-group
accuracy is the minimum over the four groups.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from w2s.problem import ProblemError

from ._backbones import BACKBONES, PAIRS, BackboneSpec, all_features
from ._data import load_coloured_digits
from ._heads import entropy, predict_logits, select_confident, train_head

__all__ = ["DeepConfig", "DeepConfigError", "MODELS", "average_accuracy", "run_w2s"]

MODELS = ("teacher", "w2s", "enhanced", "ceiling")
ETA_O = 0.1  # this benchmark's "natural" minority fraction (the paper's eta_o)


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
        pair: a key of :data:`PAIRS` (weak teacher / strong student backbones).
        n, eta_l: labeled set size and minority fraction.
        N, eta_u: unlabeled set size and minority fraction.
        p: fraction of the unlabeled set kept by Enhanced-W2S, in (0, 1].
        q: GCE exponent, in (0, 1].
        eta_t: test minority fraction for the average accuracy, in [0, 1].
        steps, lr, l2: head training (full-batch Adam steps, learning rate, weight penalty).
    """

    pair: str = "mlp-tiny/mlp-wide"
    n: int = 100
    eta_l: float = 0.5
    N: int = 600
    eta_u: float = 0.5
    p: float = 0.5
    q: float = 0.7
    eta_t: float = 0.5
    steps: int = 300
    lr: float = 0.05
    l2: float = 1e-3

    def __post_init__(self) -> None:
        if self.pair not in PAIRS:
            raise DeepConfigError("pair", f"unknown pair {self.pair!r} (known: {', '.join(PAIRS)})")
        for name in ("n", "N", "steps"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1:
                raise DeepConfigError(name, f"must be a positive integer, got {v!r}")
        for name, lo_open in (("eta_l", False), ("eta_u", False), ("eta_t", False), ("p", True), ("q", True)):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, (int, float, np.number)) or not math.isfinite(v):
                raise DeepConfigError(name, f"must be a finite number, got {v!r}")
            if not ((0 < v if lo_open else 0 <= v) and v <= 1):
                raise DeepConfigError(name, f"must lie in {'(0, 1]' if lo_open else '[0, 1]'}, got {v!r}")
        if not (isinstance(self.lr, (int, float)) and math.isfinite(self.lr) and self.lr > 0):
            raise DeepConfigError("lr", f"must be a finite number > 0, got {self.lr!r}")
        if not (isinstance(self.l2, (int, float)) and math.isfinite(self.l2) and self.l2 >= 0):
            raise DeepConfigError("l2", f"must be a finite number >= 0, got {self.l2!r}")
        why = load_coloured_digits().check_sizes(self.n, self.eta_l, self.N, self.eta_u)
        if why is not None:
            field, _, msg = why.partition(": ")
            raise DeepConfigError(field, msg)

    def replace(self, **changes) -> DeepConfig:
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def average_accuracy(group_acc, eta_t: float):
    """Accuracy at test minority fraction ``eta_t`` from per-group accuracies ``[..., 4]`` (g = 2y + a)."""
    g = np.asarray(group_acc)
    maj = 0.5 * (g[..., 0] + g[..., 3])
    mino = 0.5 * (g[..., 1] + g[..., 2])
    return (1.0 - eta_t) * maj + eta_t * mino


def _group_accuracy(logits: jax.Array, y: np.ndarray, group: np.ndarray) -> np.ndarray:
    correct = np.asarray(jnp.argmax(logits, axis=-1)) == y
    return np.array([correct[group == g].mean() for g in range(4)])


def run_w2s(
    config: DeepConfig,
    *,
    key: jax.Array,
    progress: bool = False,
    specs: tuple[BackboneSpec, BackboneSpec] | None = None,
) -> dict[str, Any]:
    """Run one configuration; same ``key`` -> identical results.

    ``specs`` (weak, strong) replaces the backbones of ``config.pair`` (tests use tiny ones).

    Returns a dict with, for each of :data:`MODELS`, ``group_acc`` (4 groups, g = 2y + a),
    ``avg`` (at ``config.eta_t``) and ``worst``; ``gain`` and ``pgr`` of the W2S and Enhanced-W2S
    students (each ``{"avg", "worst"}``; PGR = (student - teacher)/(ceiling - teacher));
    ``relative_improvement`` of Enhanced-W2S over W2S in % (``100 (enh - w2s)/w2s``); and
    diagnostics: pseudolabel accuracy (all / majority / minority) and the minority fraction
    and pseudolabel accuracy of the kept subset.
    """
    weak, strong = specs if specs is not None else (BACKBONES[b] for b in PAIRS[config.pair])
    data = load_coloured_digits()
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=6, desc=f"w2s {config.pair}", unit="stage", leave=False)

    def tick(what: str):
        if bar is not None:
            bar.set_postfix_str(what)
            bar.update()

    fw = all_features(weak, progress=progress)
    fs = all_features(strong, progress=progress)
    tick("features")
    k_data, k_t, k_s, k_c = jax.random.split(key, 4)
    lab, unl = data.sample_w2s(k_data, config.n, config.eta_l, config.N, config.eta_u)
    test = data.test_split()
    train = dict(steps=config.steps, lr=config.lr, l2=config.l2)

    teacher = train_head(fw[lab.a, lab.index], lab.y, key=k_t, **train)
    tick("teacher")
    pseudo = np.asarray(jnp.argmax(predict_logits(teacher, jnp.asarray(fw[unl.a, unl.index])), axis=-1)).astype(
        np.int32
    )
    f_unl = jnp.asarray(fs[unl.a, unl.index])
    student = train_head(f_unl, pseudo, key=k_s, **train)
    tick("w2s student")
    keep = select_confident(entropy(predict_logits(student, f_unl)), config.p)
    enhanced = train_head(
        f_unl, pseudo, init=student, weights=keep.astype(jnp.float32), loss="gce", q=config.q, **train
    )
    tick("enhanced")
    ceiling = train_head(f_unl, unl.y, key=k_c, **train)
    tick("ceiling")

    heads = {"teacher": (teacher, fw), "w2s": (student, fs), "enhanced": (enhanced, fs), "ceiling": (ceiling, fs)}
    out: dict[str, Any] = {"config": config.to_dict()}
    for name, (head, feats) in heads.items():
        g = _group_accuracy(predict_logits(head, jnp.asarray(feats[test.a, test.index])), test.y, test.group)
        out[name] = {"group_acc": g.tolist(), "avg": float(average_accuracy(g, config.eta_t)), "worst": float(g.min())}
    tick("evaluate")
    if bar is not None:
        bar.close()
    for student_name, tag in (("w2s", ""), ("enhanced", "_enhanced")):
        out[f"gain{tag}"] = {m: out[student_name][m] - out["teacher"][m] for m in ("avg", "worst")}
        out[f"pgr{tag}"] = {
            m: _ratio(out[student_name][m] - out["teacher"][m], out["ceiling"][m] - out["teacher"][m])
            for m in ("avg", "worst")
        }
    out["relative_improvement"] = {
        m: 100.0 * _ratio(out["enhanced"][m] - out["w2s"][m], out["w2s"][m]) for m in ("avg", "worst")
    }
    right = pseudo == unl.y
    keep_np = np.asarray(keep)
    out["pseudolabels"] = {
        "acc": float(right.mean()),
        "acc_majority": _mean(right[~unl.minority]),
        "acc_minority": _mean(right[unl.minority]),
        "kept": int(keep_np.sum()),
        "kept_minority_fraction": float(unl.minority[keep_np].mean()),
        "kept_acc": float(right[keep_np].mean()),
    }
    return out


def _ratio(a: float, b: float) -> float:
    return float(a / b) if b != 0 else float("nan")


def _mean(x: np.ndarray) -> float:
    return float(x.mean()) if x.size else float("nan")
