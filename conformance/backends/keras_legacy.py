"""Keras 3's deprecated TensorFlow loop, `keras._legacy.backend.rnn`, as a function row.

Why (issue 41): Keras 3 still ships a seventh implementation of the loop, beside its five
backends' `rnn` and tf_keras': the Keras 2 backend function kept for old code, exported
as `keras._legacy.backend.rnn` (the name in its `keras_export`) and reachable in Keras
3.15.1 as `keras._tf_keras.keras.backend.rnn` (there is no `keras._legacy` module). It
lives in `keras.src.legacy.backend` (`rnn`, line ~1420), written in TensorFlow only
whatever KERAS_BACKEND says (its `tf` is imported lazily), so it is imported side by side
with the other rows like keras-tensorflow. It is a copy of tf_keras' loop, not Keras 3's
TensorFlow backend: it breaks the contract where tf-keras does, and those findings are
declared under this row's own name, so that a fix in one copy shows as FIXED in that copy.

Modes: eager, tf.function and XLA, as keras-tensorflow (its `tf.compat.v1.while_loop`
over TensorArrays compiles under `jit_compile=True`, unknown B and T included).
"""

from conformance.backends.tensorflow_adapter import TensorFlowBackend


class KerasLegacyTensorFlow(TensorFlowBackend):
    name = "keras-legacy-tensorflow"
    description = "Keras 3 keras._legacy.backend.rnn (deprecated TensorFlow loop)"
    packages = ("keras", "tensorflow")
    extra = "keras"
    rnn_path = "keras.src.legacy.backend:rnn"
