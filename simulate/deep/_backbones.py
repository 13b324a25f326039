"""Weak and strong backbones: equinox networks pre-trained once on the pretrain split, cached, frozen.

A backbone is described by a :class:`BackboneSpec` (architecture, width, pre-training task and
minority fraction, optimiser steps, seed). :func:`load_backbone` returns the pre-trained
:class:`FrozenBackbone` from the on-disk cache (:func:`setting.cache_root`),
pre-training it first if the cache has no file for its key. The key is a hash of the spec,
the data recipe and the package version, so changing any of them pre-trains anew.

Weak backbones are small and pre-trained on the *binary* task with the colour agreeing with the
label on 95 % of the images (their features entangle colour and shape). Strong backbones are
larger and pre-trained on the 20-class *digit-and-colour* task (digit x colour, the colour
independent of the digit), so that, like the paper's backbones (and unlike a backbone
pre-trained on the digit alone), they encode the spurious attribute as well as the shape:
the theory's penalty for (eta_u - eta_l)^2 needs a student that can pick up the unlabeled
set's spurious correlation (linear probes: :func:`simulate.deep.probes`).
After pre-training, the classifier used for pre-training is dropped and the features are
standardised with their mean and standard deviation on the pretrain split (part of the frozen
backbone). :func:`embed` applies ``stop_gradient``: nothing downstream can move a backbone.
"""

from __future__ import annotations

import dataclasses
import hashlib
import itertools
import json
import os
import time
from pathlib import Path

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import optax

import setting

from ._data import RECIPE, ColouredDigits, load_coloured_digits, render

__all__ = [
    "BACKBONES",
    "PAIRS",
    "BackboneSpec",
    "FrozenBackbone",
    "all_features",
    "cache_dir",
    "embed",
    "load_backbone",
]

F32 = jnp.float32


@dataclasses.dataclass(frozen=True)
class BackboneSpec:
    """Everything that determines a pre-trained backbone (and its cache key).

    Attributes:
        name: label used in file names and tables.
        arch: ``"mlp"`` (flattened 8x8x3 -> hidden -> features) or ``"cnn"`` (two 3x3 convs,
            2x2 average pool, dense to features).
        width: hidden units (mlp) or channels of the second conv (cnn; the first has half).
        features: feature dimension d.
        task: pre-training labels, ``"binary"`` (digit >= 5), ``"digit"`` (10 classes) or
            ``"digit-colour"`` (20 classes, ``2 digit + a``).
        eta: minority fraction of the coloured pretrain split (0.05: colour nearly a shortcut;
            0.5: colour independent of the label).
        steps, batch, lr: Adam pre-training schedule.
        seed: initialisation and batching seed.
    """

    name: str
    arch: str
    width: int
    features: int
    task: str
    eta: float
    steps: int = 600
    batch: int = 64
    lr: float = 3e-3
    seed: int = 0

    def key(self) -> str:
        blob = json.dumps(
            {"spec": dataclasses.asdict(self), "recipe": RECIPE, "version": setting.__version__, "format": 1},
            sort_keys=True,
        )
        return hashlib.sha256(blob.encode()).hexdigest()[:16]


BACKBONES: dict[str, BackboneSpec] = {
    s.name: s
    for s in (
        BackboneSpec("mlp-tiny", "mlp", width=16, features=8, task="binary", eta=0.05),
        BackboneSpec("cnn-tiny", "cnn", width=4, features=8, task="binary", eta=0.05),
        BackboneSpec("cnn-large", "cnn", width=16, features=32, task="digit-colour", eta=0.5, steps=400),
        BackboneSpec("mlp-wide", "mlp", width=256, features=64, task="digit-colour", eta=0.5),
    )
}

# pair name -> (weak teacher backbone, strong student backbone)
PAIRS: dict[str, tuple[str, str]] = {
    "mlp-tiny/cnn-large": ("mlp-tiny", "cnn-large"),
    "cnn-tiny/cnn-large": ("cnn-tiny", "cnn-large"),
    "mlp-tiny/mlp-wide": ("mlp-tiny", "mlp-wide"),
}


class _MLP(eqx.Module):
    l1: eqx.nn.Linear
    l2: eqx.nn.Linear

    def __init__(self, width: int, features: int, *, key: jax.Array):
        k1, k2 = jax.random.split(key)
        self.l1 = eqx.nn.Linear(8 * 8 * 3, width, dtype=F32, key=k1)
        self.l2 = eqx.nn.Linear(width, features, dtype=F32, key=k2)

    def __call__(self, x):  # (8, 8, 3) -> (features,)
        return jax.nn.relu(self.l2(jax.nn.relu(self.l1(x.reshape(-1)))))


class _CNN(eqx.Module):
    c1: eqx.nn.Conv2d
    c2: eqx.nn.Conv2d
    dense: eqx.nn.Linear

    def __init__(self, width: int, features: int, *, key: jax.Array):
        k1, k2, k3 = jax.random.split(key, 3)
        c = max(width // 2, 1)
        self.c1 = eqx.nn.Conv2d(3, c, 3, padding=1, dtype=F32, key=k1)
        self.c2 = eqx.nn.Conv2d(c, width, 3, padding=1, dtype=F32, key=k2)
        self.dense = eqx.nn.Linear(width * 4 * 4, features, dtype=F32, key=k3)

    def __call__(self, x):  # (8, 8, 3) -> (features,)
        h = jnp.transpose(x, (2, 0, 1))  # channels first for equinox convs
        h = jax.nn.relu(self.c1(h))
        h = jax.nn.relu(self.c2(h))
        h = h.reshape(h.shape[0], 4, 2, 4, 2).mean(axis=(2, 4))
        return jax.nn.relu(self.dense(h.reshape(-1)))


class FrozenBackbone(eqx.Module):
    """A pre-trained network with its feature standardisation. Use through :func:`embed`."""

    net: eqx.Module
    mean: jax.Array
    std: jax.Array

    @property
    def dim(self) -> int:
        return int(self.mean.shape[0])


def _net(spec: BackboneSpec, key: jax.Array) -> eqx.Module:
    if spec.arch == "mlp":
        return _MLP(spec.width, spec.features, key=key)
    if spec.arch == "cnn":
        return _CNN(spec.width, spec.features, key=key)
    raise ValueError(f"arch: unknown architecture {spec.arch!r} (known: mlp, cnn)")


def embed(backbone: FrozenBackbone, x: jax.Array) -> jax.Array:
    r"""Standardised frozen features :math:`(\phi(x) - m)/s`, ``(m, 8, 8, 3) -> (m, d)`` float32.

    ``stop_gradient`` on the backbone's parameters: heads trained on these features never
    send gradients into the backbone.
    """
    frozen = jax.lax.stop_gradient(backbone)
    feats = jax.vmap(frozen.net)(x.astype(F32))
    return (feats - frozen.mean[None, :]) / frozen.std[None, :]


def optimizer_update(opt: optax.GradientTransformation, grads, state, params):
    """``opt.update`` under standard dtype promotion.

    optax's bias correction computes ``b1 ** count`` (a Python float to an int32 power), which
    the tests' strict promotion rejects; everything else here stays strict.
    """
    with jax.numpy_dtype_promotion("standard"):
        return opt.update(grads, state, params)


def cache_dir() -> Path:
    """Where backbones and features are kept: :func:`setting.cache_root`."""
    return setting.cache_root()


def _pretrain(spec: BackboneSpec, data: ColouredDigits, progress: bool = False) -> FrozenBackbone:
    """Pre-train ``spec`` on the pretrain split (Adam, cross-entropy, minibatches) and freeze it."""
    key = jax.random.key(spec.seed)
    k_net, k_head, k_colour, k_batch = jax.random.split(key, 4)
    split = data.sample_pretrain(k_colour, spec.eta)
    x = jnp.asarray(data.images(split))
    if spec.task == "binary":
        labels, classes = split.y, 2
    elif spec.task == "digit":
        labels, classes = data.digit[split.index], 10
    elif spec.task == "digit-colour":
        labels, classes = 2 * data.digit[split.index] + split.a, 20
    else:
        raise ValueError(f"task: unknown pre-training task {spec.task!r} (known: binary, digit, digit-colour)")
    labels = jnp.asarray(labels, dtype=jnp.int32)
    opt = optax.adam(spec.lr)

    @eqx.filter_jit  # initialisation op by op would dispatch (and compile) dozens of tiny programs
    def init():
        model = (_net(spec, k_net), eqx.nn.Linear(spec.features, classes, dtype=F32, key=k_head))
        return model, opt.init(eqx.filter(model, eqx.is_inexact_array))

    model, state = init()
    params, static = eqx.partition(model, eqx.is_inexact_array)

    def loss_fn(params, xb, yb):
        net, head = eqx.combine(params, static)
        logits = jax.vmap(lambda v: head(net(v)))(xb)
        return optax.softmax_cross_entropy_with_integer_labels(logits, yb).mean()

    @jax.jit
    def train(params, state, keys, x, labels):
        def step(carry, k):
            params, state = carry
            idx = jax.random.choice(k, x.shape[0], (spec.batch,), replace=False)
            grads = jax.grad(loss_fn)(params, x[idx], labels[idx])
            updates, state = optimizer_update(opt, grads, state, params)
            return (optax.apply_updates(params, updates), state), None

        return jax.lax.scan(step, (params, state), keys)[0]

    # One compiled loop; with a progress bar, ten equal chunks of it (the remainder first).
    keys = jax.random.split(k_batch, spec.steps)
    size = max(spec.steps // 10, 1) if progress else spec.steps
    bounds = [0, *range(spec.steps % size or size, spec.steps + 1, size)]
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=spec.steps, desc=f"pre-train {spec.name}", leave=False, unit="step")
    for a, b in itertools.pairwise(bounds):
        params, state = train(params, state, keys[a:b], x, labels)
        if bar is not None:
            bar.update(b - a)
    if bar is not None:
        bar.close()
    net = eqx.combine(params, static)[0]
    feats = eqx.filter_jit(lambda net, x: jax.vmap(net)(x))(net, x)
    mean = feats.mean(axis=0)
    std = jnp.sqrt(feats.var(axis=0) + jnp.asarray(1e-4, F32))  # dead ReLU units stay finite
    return FrozenBackbone(net, mean, std)


def _skeleton(spec: BackboneSpec) -> FrozenBackbone:
    z = jax.ShapeDtypeStruct((spec.features,), F32)
    return FrozenBackbone(eqx.filter_eval_shape(_net, spec, jax.random.key(0)), z, z)


def load_backbone(spec: BackboneSpec | str, *, progress: bool = False) -> FrozenBackbone:
    """The pre-trained, frozen backbone for ``spec`` (a spec or a name in :data:`BACKBONES`).

    Read from ``cache_dir()/NAME-KEY.eqx`` if present; otherwise pre-trained (seconds on a CPU)
    and written there atomically, with a ``.json`` of the spec, recipe and timing beside it.
    """
    spec = BACKBONES[spec] if isinstance(spec, str) else spec
    path = cache_dir() / f"{spec.name}-{spec.key()}.eqx"
    if path not in _LOADED:
        _LOADED[path] = _load(spec, path, progress)
    return _LOADED[path]


_LOADED: dict[Path, FrozenBackbone] = {}  # this process's loaded backbones, by cache file


def _load(spec: BackboneSpec, path: Path, progress: bool) -> FrozenBackbone:
    if path.exists():
        return eqx.tree_deserialise_leaves(path, _skeleton(spec))
    t0 = time.perf_counter()
    backbone = _pretrain(spec, load_coloured_digits(), progress)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    eqx.tree_serialise_leaves(tmp, backbone)
    tmp.replace(path)
    path.with_suffix(".json").write_text(
        json.dumps(
            {
                "spec": dataclasses.asdict(spec),
                "recipe": RECIPE,
                "version": setting.__version__,
                "jax": jax.__version__,
                "device": str(jax.devices()[0]),
                "seconds": time.perf_counter() - t0,
            },
            indent=2,
        )
    )
    return backbone


_FEATURES: dict[Path, np.ndarray] = {}


def all_features(spec: BackboneSpec | str, *, progress: bool = False) -> np.ndarray:
    """Frozen features of every digit image in both colours: ``(2, 1797, d)`` float32, ``[a, i]``.

    Computed once per backbone and kept beside it in the cache (``NAME-KEY.features.npy``):
    the W2S pipeline only ever needs these, the heads being linear on frozen features.
    """
    spec = BACKBONES[spec] if isinstance(spec, str) else spec
    path = cache_dir() / f"{spec.name}-{spec.key()}.features.npy"
    if path not in _FEATURES:
        if path.exists():
            feats = np.load(path)
        else:
            data = load_coloured_digits()
            backbone = load_backbone(spec, progress=progress)
            n = data.pixels.shape[0]
            feats = np.stack(
                [
                    np.asarray(jax.jit(embed)(backbone, jnp.asarray(render(data.pixels, np.full(n, a, np.int32)))))
                    for a in (0, 1)
                ]
            )
            tmp = path.with_suffix(f".{os.getpid()}.tmp.npy")
            np.save(tmp, feats)
            tmp.replace(path)
        _FEATURES[path] = feats
    return _FEATURES[path]
