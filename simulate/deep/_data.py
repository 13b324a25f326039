"""Coloured digits: an offline spurious-correlation benchmark built from scikit-learn's digits.

Core label :math:`y = 1[\\text{digit} \\ge 5]`; spurious attribute :math:`a \\in \\{0, 1\\}`, the
colour the digit is drawn in. The majority group has :math:`a = y`, the minority group
:math:`a \\ne y`; group id ``g = 2 y + a`` (0 and 3 majority, 1 and 2 minority).

The 1,797 8x8 images are split once, by a fixed stratified permutation (seed :data:`SPLIT_SEED`,
part of :data:`RECIPE`), into three disjoint sets of digit images:

* ``pretrain`` (30 % per digit, 539 images): only for pre-training backbones;
* ``test`` (20 %, 359 images): every image rendered in *both* colours, so each of the four
  groups is evaluated on the same digits (paired; nothing is trained on them);
* ``pool`` (50 %, 899 images): labeled and unlabeled sets are drawn from it, disjoint from
  each other, each image used once in one colour.

Group counts are exact: a set of size ``m`` with minority fraction ``eta`` has
``round_half_up(eta * m)`` minority images; each of the minority and majority parts is split
between the two classes as evenly as possible: of an odd majority part class 1 (group 3) gets
the extra image, of an odd minority part class 0 (group 1) does (:func:`group_counts`).
"""

from __future__ import annotations

import dataclasses
import functools
import math

import jax
import numpy as np

__all__ = [
    "COLOURS",
    "RECIPE",
    "SPLIT_SEED",
    "ColouredDigits",
    "Split",
    "group_counts",
    "load_coloured_digits",
    "render",
    "round_half_up",
]

SPLIT_SEED = 20260928
SPLIT_FRACTIONS = {"pretrain": 0.3, "test": 0.2}  # the rest is the pool
# Two hues that are not pure channels, so colour is a linear but not a trivially "one input
# channel" cue. Row a is the RGB colour of attribute a.
COLOURS = np.array([[0.95, 0.45, 0.10], [0.10, 0.45, 0.95]], dtype=np.float32)
RECIPE = {
    "source": "sklearn.datasets.load_digits",
    "label": "digit >= 5",
    "attribute": "foreground colour",
    "colours": COLOURS.tolist(),
    "split_seed": SPLIT_SEED,
    "split_fractions": SPLIT_FRACTIONS,
    "shape": [8, 8, 3],
}


def round_half_up(x: float) -> int:
    """``floor(x + 1/2)``, the rounding used for every group count (Python's round is banker's)."""
    return int(math.floor(x + 0.5 + 1e-12))


def group_counts(m: int, eta: float) -> dict[int, int]:
    """Exact number of images per group ``g = 2 y + a`` in a set of size ``m`` with minority fraction ``eta``."""
    n_min = round_half_up(eta * m)
    n_maj = m - n_min
    # majority part: class 0 (g = 0) gets the floor half; minority part: class 0 (g = 1) gets the ceiling half
    return {0: n_maj // 2, 3: n_maj - n_maj // 2, 2: n_min // 2, 1: n_min - n_min // 2}


@dataclasses.dataclass(frozen=True)
class Split:
    """A set of coloured digits: image indices into :attr:`ColouredDigits.pixels`, labels, attributes.

    Attributes:
        index: ``(m,)`` int, which digit image.
        y: ``(m,)`` int32 core label.
        a: ``(m,)`` int32 spurious attribute (colour).
    """

    index: np.ndarray
    y: np.ndarray
    a: np.ndarray

    @property
    def group(self) -> np.ndarray:
        """Group id ``2 y + a``: 0, 3 majority; 1, 2 minority."""
        return (2 * self.y + self.a).astype(np.int32)

    @property
    def minority(self) -> np.ndarray:
        return self.y != self.a

    def __len__(self) -> int:
        return int(self.index.shape[0])


def render(pixels: np.ndarray, a: np.ndarray) -> np.ndarray:
    """Colour grayscale digits: ``(m, 8, 8)`` in [0, 1] and attributes ``(m,)`` -> ``(m, 8, 8, 3)`` float32."""
    return (pixels[..., None] * COLOURS[np.asarray(a)][:, None, None, :]).astype(np.float32)


def _rng(key: jax.Array) -> np.random.Generator:
    """A NumPy generator seeded by a JAX key's bits (index shuffles on the host, no compilation)."""
    return np.random.default_rng(np.asarray(jax.random.key_data(key)).ravel().tolist())


def _take_groups(key: jax.Array, index_by_class: list[np.ndarray], counts: dict[int, int]):
    """Draw ``counts`` images per group from per-class candidate lists (without replacement)."""
    idx, ys, as_ = [], [], []
    for y in (0, 1):
        need_maj, need_min = counts[3 * y], counts[1 + y]  # g = 2y + y (majority), g = 2y + (1 - y)
        cand = index_by_class[y]
        perm = _rng(jax.random.fold_in(key, y)).permutation(cand.shape[0])
        chosen = cand[perm[: need_maj + need_min]]
        idx.append(chosen)
        ys.append(np.full(chosen.shape, y, np.int32))
        as_.append(np.r_[np.full(need_maj, y, np.int32), np.full(need_min, 1 - y, np.int32)])
    return Split(np.concatenate(idx), np.concatenate(ys), np.concatenate(as_))


@dataclasses.dataclass(frozen=True, eq=False)
class ColouredDigits:
    """The digit images, their labels, and the fixed disjoint pretrain / test / pool splits.

    Attributes:
        pixels: ``(1797, 8, 8)`` float32 in [0, 1].
        digit: ``(1797,)`` int, 0..9.
        y: ``(1797,)`` int32 core label ``digit >= 5``.
        pretrain, test, pool: disjoint sorted index arrays.
    """

    pixels: np.ndarray
    digit: np.ndarray
    y: np.ndarray
    pretrain: np.ndarray
    test: np.ndarray
    pool: np.ndarray

    def capacity(self) -> tuple[int, int]:
        """Images of class 0 and class 1 in the pool."""
        return int(np.sum(self.y[self.pool] == 0)), int(np.sum(self.y[self.pool] == 1))

    def check_sizes(
        self, n: int, eta_l: float, N: int, eta_u: float, n_val: int = 0, eta_val: float = 0.0
    ) -> str | None:
        """None if disjoint labeled (n, eta_l), unlabeled (N, eta_u) and validation (n_val, eta_val) sets
        fit in the pool, else why not (a message starting with the field that overflows)."""
        cap = self.capacity()
        need = [0, 0]
        for field, m, eta, what in (("n", n, eta_l, "labeled"), ("N", N, eta_u, "unlabeled"),
                                    ("n_val", n_val, eta_val, "validation")):  # fmt: skip
            c = group_counts(m, eta)
            for y in (0, 1):
                need[y] += c[3 * y] + c[1 + y]
                if need[y] > cap[y]:
                    return (
                        f"{field}: the labeled, unlabeled and validation images up to the {what} set need "
                        f"{need[y]} of class y={y} but the pool holds {cap[y]} (n + N + n_val <= about {sum(cap)})"
                    )
        return None

    def sample_w2s(
        self, key: jax.Array, n: int, eta_l: float, N: int, eta_u: float, n_val: int = 0, eta_val: float = 0.0
    ) -> tuple[Split, Split] | tuple[Split, Split, Split]:
        """Disjoint labeled ``(n, eta_l)``, unlabeled ``(N, eta_u)`` (and, when ``n_val > 0``, validation
        ``(n_val, eta_val)``) sets from the pool, exact group counts."""
        why = self.check_sizes(n, eta_l, N, eta_u, n_val, eta_val)
        if why is not None:
            raise ValueError(why)
        out = self.sample(key, [(n, eta_l), (N, eta_u), (n_val, eta_val)])
        return tuple(out) if n_val > 0 else (out[0], out[1])

    def sample(self, key: jax.Array, sizes: list[tuple[int, float]]) -> list[Split]:
        """Disjoint sets of the given ``(m, eta)`` from the pool, exact group counts, in order
        (each image once, in one colour). Three sets draw exactly as :meth:`sample_w2s`."""
        by_class = [self.pool[self.y[self.pool] == y] for y in (0, 1)]
        counts = [group_counts(m, eta) for m, eta in sizes]
        # One permutation per class; the first set takes the head, the next set the next block: disjoint.
        k_perm, *k_sets = jax.random.split(key, 1 + len(sizes))
        perms = [c[_rng(jax.random.fold_in(k_perm, y)).permutation(c.shape[0])] for y, c in enumerate(by_class)]
        out, start = [], [0, 0]
        for k, c in zip(k_sets, counts, strict=True):
            cand = []
            for y in (0, 1):
                m = c[3 * y] + c[1 + y]
                if start[y] + m > perms[y].shape[0]:
                    raise ValueError("sizes: the requested sets do not fit in the pool")
                cand.append(perms[y][start[y] : start[y] + m])
                start[y] += m
            out.append(_take_groups(k, cand, c))
        return out

    def sample_pretrain(self, key: jax.Array, eta: float) -> Split:
        """All pre-training images, coloured with minority fraction ``eta`` (exact counts)."""
        by_class = [self.pretrain[self.y[self.pretrain] == y] for y in (0, 1)]
        m = [c.shape[0] for c in by_class]
        # Keep every image: the minority count per class follows eta on that class's images.
        counts = {}
        for y in (0, 1):
            k_min = round_half_up(eta * m[y])
            counts[3 * y], counts[1 + y] = m[y] - k_min, k_min
        return _take_groups(key, by_class, counts)

    def test_split(self) -> Split:
        """Every test image in both colours: groups (y, a) for a = 0, 1; paired across colours."""
        idx = np.r_[self.test, self.test]
        y = np.r_[self.y[self.test], self.y[self.test]]
        a = np.r_[np.zeros(self.test.shape[0], np.int32), np.ones(self.test.shape[0], np.int32)]
        return Split(idx, y.astype(np.int32), a)

    def images(self, split: Split) -> np.ndarray:
        """``(m, 8, 8, 3)`` float32 coloured images of a split."""
        return render(self.pixels[split.index], split.a)


@functools.lru_cache(maxsize=1)
def load_coloured_digits() -> ColouredDigits:
    """Load scikit-learn's bundled digits and make the fixed splits (:data:`RECIPE`)."""
    from sklearn.datasets import load_digits

    d = load_digits()
    pixels = (d.images / 16.0).astype(np.float32)
    digit = d.target.astype(np.int64)
    rng = np.random.default_rng(SPLIT_SEED)  # fixed data recipe, not an experiment seed
    parts = {"pretrain": [], "test": [], "pool": []}
    for k in range(10):
        idx = np.flatnonzero(digit == k)
        idx = idx[rng.permutation(idx.shape[0])]
        a = round_half_up(SPLIT_FRACTIONS["pretrain"] * idx.shape[0])
        b = a + round_half_up(SPLIT_FRACTIONS["test"] * idx.shape[0])
        parts["pretrain"].append(idx[:a])
        parts["test"].append(idx[a:b])
        parts["pool"].append(idx[b:])
    splits = {k: np.sort(np.concatenate(v)) for k, v in parts.items()}
    return ColouredDigits(pixels, digit, (digit >= 5).astype(np.int32), **splits)
