"""Test configuration: float64 (via ``import w2s``), strict dtype and rank promotion.

Strict promotion makes an accidental int/float or float32/float64 mix, or an implicit
broadcast between arrays of different rank, an error instead of a silent upcast.
"""

import jax
import pytest

import w2s  # noqa: F401  (turns on float64)


@pytest.fixture(autouse=True)
def _strict_jax():
    with jax.numpy_dtype_promotion("strict"), jax.numpy_rank_promotion("raise"):
        yield
