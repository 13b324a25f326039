"""Cached MiniLM features of the used tweets, content-keyed, resumable.

One file per (encoder, tweet set, preprocessing) in :func:`simulate.deep.cache_dir`:
``tweets-SIZE-ENCODER-KEY.npy`` ``(m, 384)`` float32, rows in :class:`TweetData` order. KEY is a
hash of the weights' sha256, the encoder name and the forward's settings (:data:`FORWARD`), the
data recipe (corpus sha256, label and attribute rules, text preprocessing, split seed, size)
and the sha256 of the used texts themselves, so any change to the weights, the text or its
preprocessing extracts anew. Extraction runs in chunks of :data:`CHUNK` texts; each finished
chunk is kept (``KEY.part/NNN.npz``) until the whole set is written, so an interrupted run
loses nothing finished. All three encoders come out of one pass and are written together.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from pathlib import Path

import numpy as np

from ._backbones import cache_dir
from ._minilm import ENCODERS, MAX_TOKENS, encode, weights_sha256
from ._tweets import TweetData, load_tweets

__all__ = ["CHUNK", "FORWARD", "feature_path", "tweet_features"]

CHUNK = 1024
FORWARD = {"max_tokens": MAX_TOKENS, "pooling": "mean over attention mask, then L2-normalised", "format": 1}
_MEMO: dict[Path, np.ndarray] = {}


def _key(data: TweetData, encoder: str) -> str:
    texts = hashlib.sha256("\x00".join(data.texts).encode()).hexdigest()
    blob = json.dumps(
        {"weights": weights_sha256(), "encoder": encoder, "forward": FORWARD, "recipe": data.recipe(), "texts": texts},
        sort_keys=True,
    )
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def feature_path(encoder: str, size: str = "full") -> Path:
    data = load_tweets(size)
    return cache_dir() / f"tweets-{size}-{encoder}-{_key(data, encoder)}.npy"


def tweet_features(encoder: str, size: str = "full", *, progress: bool = False) -> np.ndarray:
    """``(m, 384)`` float32 features of the used tweets of ``size`` (cached; extracted if missing)."""
    if encoder not in ENCODERS:
        raise ValueError(f"encoder: unknown {encoder!r} (known: {', '.join(ENCODERS)})")
    path = feature_path(encoder, size)
    if path not in _MEMO:
        if not path.exists():
            _extract(size, progress)
        _MEMO[path] = np.load(path)
    return _MEMO[path]


def _extract(size: str, progress: bool) -> None:
    data = load_tweets(size)
    names = tuple(ENCODERS)
    paths = {n: feature_path(n, size) for n in names}
    part = paths["minilm"].with_suffix(".part")
    part.mkdir(parents=True, exist_ok=True)
    m = len(data.texts)
    chunks = range(0, m, CHUNK)
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=m, desc=f"MiniLM features ({size} tweets)", unit="text")
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
        tmp = paths[n].with_suffix(f".{os.getpid()}.tmp.npy")
        np.save(tmp, np.concatenate(rows).astype(np.float32))
        tmp.replace(paths[n])
    shutil.rmtree(part, ignore_errors=True)
