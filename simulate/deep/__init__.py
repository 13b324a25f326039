"""The deep-model path: W2S with frozen pre-trained backbones on offline spurious benchmarks.

Two data sets: real airline / other tweets (label: negative sentiment; spurious attribute:
the tweet addresses a US airline) with frozen text encoders (views of all-MiniLM-L6-v2 and
paraphrase-MiniLM-L3-v2 in one JAX BERT forward, and a TF-IDF bag of words), and
coloured scikit-learn digits (label: digit >= 5; attribute: colour) with small equinox
backbones pre-trained once and cached. Linear heads are trained with optax, and the
Enhanced-W2S remedy (entropy-selected subset, GCE loss) of "Does Weak-to-strong Generalization
Happen under Spurious Correlations?" (Liu, Dong, Lei, ICLR 2026, arXiv 2509.24005) is run on
its whole (p, q) grid beside a random-subset control, with (p, q) chosen by three rules
(label-free, group-balanced validation from the labeled budget, test oracle). Ridge heads
(squared loss on +-1 labels, the theory's model class; :func:`run_ridge`, :func:`ridge_curves`) and
a Gaussian surrogate of a pair's features (per-group moments on the pool; :func:`pool_moments`,
:func:`surrogate`) serve the comparison with the general-mixture theory. See docs/deep.md.

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
from ._heads import (
    LinearHead,
    cross_entropy,
    entropy,
    gce,
    predict_logits,
    predict_logits_many,
    select_confident,
    select_random,
    train_head,
    train_heads,
)
from ._minilm import MINILM_VIEWS, NETWORKS, MiniLM, encode, load_minilm, load_network, tokenize
from ._packages import DATA_PACKAGES
from ._pipeline import (
    DATASETS,
    ETA_O,
    LABELS,
    MODELS,
    N_BAL,
    P_GRID,
    Q_GRID,
    RULES,
    TEXT_PAIRS,
    DeepConfig,
    DeepConfigError,
    TextPair,
    average_accuracy,
    probes,
    run_w2s,
)
from ._ridge import Ridge, design, group_risks, group_weights, ridge_fit, run_ridge, signed, test_weights
from ._ridge_curves import SOURCES, ridge_curves
from ._stats import polyfit_per_seed, t_test
from ._surrogate import GroupMoments, Surrogate, gaussianity, pool_moments, surrogate
from ._text_features import ENCODERS, feature_path, tweet_features
from ._tweets import (
    AIRLINE_HANDLES,
    AIRLINE_RULE,
    TweetData,
    hygiene_counts,
    hygiene_table,
    is_airline,
    load_tweets,
    normalise,
    raw_counts,
    read_corpus,
)
from ._tweets import SIZES as TWEET_SIZES

__all__ = [
    "GroupMoments",
    "Ridge",
    "SOURCES",
    "Surrogate",
    "design",
    "gaussianity",
    "group_risks",
    "group_weights",
    "pool_moments",
    "ridge_curves",
    "ridge_fit",
    "run_ridge",
    "signed",
    "surrogate",
    "test_weights",
    "AIRLINE_HANDLES",
    "AIRLINE_RULE",
    "DATA_PACKAGES",
    "DATASETS",
    "ENCODERS",
    "MINILM_VIEWS",
    "MiniLM",
    "NETWORKS",
    "P_GRID",
    "Q_GRID",
    "TEXT_PAIRS",
    "TWEET_SIZES",
    "TextPair",
    "TweetData",
    "encode",
    "feature_path",
    "hygiene_counts",
    "hygiene_table",
    "is_airline",
    "load_minilm",
    "load_network",
    "load_tweets",
    "normalise",
    "probes",
    "raw_counts",
    "read_corpus",
    "tokenize",
    "tweet_features",
    "BACKBONES",
    "ETA_O",
    "LABELS",
    "MODELS",
    "N_BAL",
    "RULES",
    "polyfit_per_seed",
    "predict_logits_many",
    "select_random",
    "t_test",
    "train_heads",
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
