"""The deep-model path: W2S with frozen pre-trained backbones on an offline spurious benchmark.

Coloured scikit-learn digits (label: digit >= 5; spurious attribute: colour), weak and strong
equinox backbones pre-trained once and cached, linear heads trained with optax, and the
Enhanced-W2S remedy (entropy-selected subset, GCE loss) of "Does Weak-to-strong Generalization
Happen under Spurious Correlations?" (Liu, Dong, Lei, ICLR 2026). See docs/deep.md.

Runs in float32 on JAX's default device (GPU when present), whatever ``jax_enable_x64`` says.
"""

from ._backbones import (
    BACKBONES,
    PAIRS,
    BackboneSpec,
    FrozenBackbone,
    all_features,
    cache_dir,
    embed,
    load_backbone,
)
from ._data import RECIPE, ColouredDigits, Split, group_counts, load_coloured_digits, render, round_half_up
from ._heads import LinearHead, cross_entropy, entropy, gce, predict_logits, select_confident, train_head
from ._pipeline import ETA_O, MODELS, DeepConfig, DeepConfigError, average_accuracy, run_w2s

__all__ = [
    "BACKBONES",
    "ETA_O",
    "MODELS",
    "PAIRS",
    "RECIPE",
    "BackboneSpec",
    "ColouredDigits",
    "DeepConfig",
    "DeepConfigError",
    "FrozenBackbone",
    "LinearHead",
    "Split",
    "all_features",
    "average_accuracy",
    "cache_dir",
    "cross_entropy",
    "embed",
    "entropy",
    "gce",
    "group_counts",
    "load_backbone",
    "load_coloured_digits",
    "predict_logits",
    "render",
    "round_half_up",
    "run_w2s",
    "select_confident",
    "train_head",
]
