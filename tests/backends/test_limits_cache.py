"""The compiled-function caches of the adapters keep the last few functions only
(base.CompiledCache): a worker that kept every configuration grew to 7.5 GiB."""

import pytest

from conformance.backends.base import COMPILED_CACHE_SIZE, CompiledCache
from conformance.backends.keras2_theano import Keras2Theano
from conformance.backends.keras_jax import KerasJax
from conformance.backends.tensorflow_adapter import FixedTensorFlow


def test_the_least_recently_used_function_goes_first():
    cache, built = CompiledCache(size=2), []

    def build(name):
        built.append(name)
        return name

    for key in ("a", "b", "a", "c", "a", "b"):
        assert cache.get(key, lambda: build(key)) == key
    assert built == ["a", "b", "c", "b"]  # "a" was used before "c" came, so "b" went
    assert len(cache) == 2 and "a" in cache and "c" not in cache


def test_a_build_that_raises_keeps_nothing():
    cache = CompiledCache(size=2)
    with pytest.raises(ValueError):
        cache.get("a", lambda: (_ for _ in ()).throw(ValueError("cannot trace")))
    assert "a" not in cache and len(cache) == 0


@pytest.mark.parametrize("adapter", [FixedTensorFlow, KerasJax, Keras2Theano])
def test_every_compiling_adapter_keeps_a_bounded_cache(adapter):
    cache = adapter()._compiled
    assert isinstance(cache, CompiledCache) and cache.size == COMPILED_CACHE_SIZE <= 32


def test_tensorflow_traces_again_only_what_was_dropped():
    """A configuration used in between keeps its trace; siblings reuse it."""
    pytest.importorskip("tensorflow", reason="NOT INSTALLED: tensorflow")
    from cells.catalog import report_2018_example

    backend = FixedTensorFlow()
    backend._compiled.size = 1
    example = report_2018_example(repeats=1)
    other = example.changed(options={"go_backwards": True})
    for e in (example, example, other, example):
        backend.run(e, "function")
    assert backend.compile_stats["function", "traced"] == 3 and backend.compile_stats["function", "reused"] == 1
