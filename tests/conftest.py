"""Test configuration: float64 (as importing :mod:`setting` does), strict dtype and rank
promotion, and JAX's on-disk compilation cache left as each test found it.

Strict promotion makes an accidental int/float or float32/float64 mix, or an implicit
broadcast between arrays of different rank, an error instead of a silent upcast.

``w2s claims`` turns on JAX's persistent compilation cache (``w2s.use_jax_cache``) for the rest
of its process. Run in-process by a test, that setting would stay on for every later test, and
a long slow suite compiling with the cache on has crashed inside XLA's compiler. A test that
turns the cache on gets it turned off again afterwards.
"""

import jax
import pytest
from jax.experimental.compilation_cache import compilation_cache

jax.config.update("jax_enable_x64", True)  # as importing setting does; some tests make arrays first


@pytest.fixture(autouse=True)
def _strict_jax():
    with jax.numpy_dtype_promotion("strict"), jax.numpy_rank_promotion("raise"):
        yield


@pytest.fixture(autouse=True)
def _restore_jax_cache():
    before = jax.config.jax_compilation_cache_dir
    yield
    if jax.config.jax_compilation_cache_dir != before:
        jax.config.update("jax_compilation_cache_dir", before)
        compilation_cache.reset_cache()  # the cache object is built once; rebuilt on the next compile
