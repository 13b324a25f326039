"""The text encoders of the tweets (:data:`ENCODERS`) and their cached features, content-keyed, resumable.

One file per (encoder, tweet set, preprocessing) in :func:`simulate.deep.cache_dir`:
``tweets-SIZE-ENCODER-KEY.npy`` ``(m, dim)`` float32, rows in :class:`TweetData` order. KEY is a
hash of what determines the encoder (a network's weights sha256 and the forward's settings
:data:`FORWARD`, or the TF-IDF recipe), the data recipe (corpus sha256, label and attribute
rules, text preprocessing, split seed, size) and the sha256 of the used texts themselves, so
any change to the weights, the text or its preprocessing extracts anew. A network's extraction
runs in chunks of :data:`CHUNK` texts; each finished chunk is kept (``KEY.part/NNN.npz``) until
the whole set is written, so an interrupted run loses nothing finished. All views of one
network come out of one pass and are written together; asking for one encoder runs only its
network.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from pathlib import Path

import numpy as np

from ._backbones import cache_dir
from ._bow import TFIDF, tfidf_features
from ._minilm import MINILM_VIEWS, NETWORKS, encode, weights_sha256
from ._tweets import TweetData, load_tweets

__all__ = ["CHUNK", "ENCODERS", "FORWARD", "feature_path", "tweet_features"]

# encoder name -> one-line description (the registry of tweet encoders; order = table order)
ENCODERS: dict[str, str] = {
    "tfidf": f"TF-IDF bag of words, {TFIDF['dim']} most frequent pool unigrams (no pre-training)",
    "minilm-static": "all-MiniLM-L6-v2's word-embedding table, mean-pooled (no context)",
    "minilm-l1": "all-MiniLM-L6-v2 truncated after its first block",
    "minilm-l3": "paraphrase-MiniLM-L3-v2, all 3 blocks (a different pre-trained network)",
    "minilm": "all-MiniLM-L6-v2, all 6 blocks (the published sentence encoder)",
}
CHUNK = 1024
FORWARD = {
    "max_tokens": {n: net.max_tokens for n, net in NETWORKS.items()},
    "pooling": "mean over attention mask, then L2-normalised",
    "format": 2,
}
_MEMO: dict[Path, np.ndarray] = {}


def _identity(encoder: str) -> dict:
    """What determines ``encoder``'s features apart from the texts."""
    if encoder == "tfidf":
        return {"encoder": encoder, "tfidf": TFIDF, "fit": "pool"}
    net, layer = MINILM_VIEWS[encoder]
    return {"encoder": encoder, "network": net, "weights": weights_sha256(net), "layer": layer, "forward": FORWARD}


def _key(data: TweetData, encoder: str) -> str:
    texts = hashlib.sha256("\x00".join(data.texts).encode()).hexdigest()
    blob = json.dumps({**_identity(encoder), "recipe": data.recipe(), "texts": texts}, sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def _check(encoder: str) -> None:
    if encoder not in ENCODERS:
        raise ValueError(f"encoder: unknown {encoder!r} (known: {', '.join(ENCODERS)})")


def feature_path(encoder: str, size: str = "full") -> Path:
    _check(encoder)
    data = load_tweets(size)
    return cache_dir() / f"tweets-{size}-{encoder}-{_key(data, encoder)}.npy"


def tweet_features(encoder: str, size: str = "full", *, progress: bool = False) -> np.ndarray:
    """``(m, dim)`` float32 features of the used tweets of ``size`` (cached; extracted if missing).

    ``dim`` is 384 for the MiniLM encoders and :data:`simulate.deep._bow.TFIDF` ``dim`` for ``tfidf``."""
    _check(encoder)
    path = feature_path(encoder, size)
    if path not in _MEMO:
        if not path.exists():
            if encoder == "tfidf":
                data = load_tweets(size)
                _save(path, tfidf_features(data.texts, data.pool))
            else:
                _extract(size, MINILM_VIEWS[encoder][0], progress)
        _MEMO[path] = np.load(path)
    return _MEMO[path]


def _save(path: Path, array: np.ndarray) -> None:
    tmp = path.with_suffix(f".{os.getpid()}.tmp.npy")
    np.save(tmp, array.astype(np.float32))
    tmp.replace(path)


def _extract(size: str, network: str, progress: bool) -> None:
    data = load_tweets(size)
    names = tuple(n for n in ENCODERS if n in MINILM_VIEWS and MINILM_VIEWS[n][0] == network)
    paths = {n: feature_path(n, size) for n in names}
    part = paths[names[-1]].with_suffix(".part")
    part.mkdir(parents=True, exist_ok=True)
    m = len(data.texts)
    chunks = range(0, m, CHUNK)
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=m, desc=f"{network} features ({size} tweets)", unit="text")
    for i, start in enumerate(chunks):
        f = part / f"{i:04d}.npz"
        stop = min(start + CHUNK, m)
        if not f.exists():
            feats = encode(data.texts[start:stop], names)
            tmp = part / f"{i:04d}.{os.getpid()}.tmp.npz"
            np.savez(tmp, **{n.replace("-", "_"): v for n, v in feats.items()})
            tmp.replace(f)
        if bar is not None:
            bar.update(stop - start)
    if bar is not None:
        bar.close()
    for n in names:
        rows = []
        for i in range(len(chunks)):
            with np.load(part / f"{i:04d}.npz") as z:
                rows.append(z[n.replace("-", "_")])
        _save(paths[n], np.concatenate(rows))
    shutil.rmtree(part, ignore_errors=True)
