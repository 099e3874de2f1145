"""Replaying a declared divergence's case: what `test_known_divergences` and the release
history (conformance/research/history.py) both run.

Most entries replay once: their case diverges every time. An entry with `attempts` > 1
declares a divergence that shows only sometimes (a race inside the framework: the same
graph computes a wrong result in some builds and not in others). Its case runs up to
`attempts` times, each after the first on functions the backend compiles afresh
(`Backend.forget_compiled`), and reproduces when one attempt diverges as declared. A race
that shows more often with more threads names `tensorflow_threads`: its attempts run in a
worker of their own with that many (`Backend.tensorflow_threads`): the tf_keras training
race shows in about 1 compile in 220 at TensorFlow's default threads and 1 in 20 with 64
(measured), so its replay takes about a minute instead of several.
"""

from contextlib import nullcontext

from conformance.judge.assertions import Divergence


def replay(entry, target, body, example, drawn):
    """The Divergence the case raises, as declared if any attempt raises that, else the
    first other one; None when every attempt agreed with the reference."""
    threads = entry.tensorflow_threads
    with target.backend.tensorflow_threads(threads) if threads else nullcontext():
        other = None
        for attempt in range(entry.attempts):
            if attempt:
                target.backend.forget_compiled()
            try:
                body(target=target, example=example, **drawn)
            except Divergence as divergence:
                if entry.matches(divergence):
                    return divergence
                other = other or divergence
        return other
