"""A worker process that runs `RNN` layer examples for one Keras.

Keras 3 picks its backend (KERAS_BACKEND) once, at import, so each layer backend runs in
a process of its own, started with the right environment; Keras 2 on Theano needs its
own environment altogether. The parent (conformance/backends/layer_worker/client.py) sends pickled
requests on stdin and reads pickled replies on the original stdout; anything the
frameworks print goes to stderr instead, so it cannot corrupt the replies.

    python -m conformance.backends.layer_worker.worker FLAVOR     (FLAVOR: keras3, tf_keras, keras2, openvino-rnn, impl)

The flavor "openvino-rnn" is not a layer: it serves the keras-openvino function row
(conformance/backends/openvino_side.py), which runs here for the same reasons (Keras 3
under KERAS_BACKEND=openvino, and a native hang that only killing a process can end).

Requests: ("describe",), ("code_versions", modules), ("run", example, mode), ("gradients", example, mode, loss
weights) and ("train", example, loss weights, learning rate) (rule L7,
conformance/backends/layer_worker/keras_gradients.py), ("forget",) (drop what every kept model compiled), ("last_path",) (the path the last
built-in layer ran, issue 41), and for a user's cell ("probe_cell", ...) and
("reference", example) (conformance/contract/user_cell_reference.py); each answer but describe's comes with the
runner's (traced, reused) counts. Replies: ("ok", value) or
("error", "Type: message", traceback text). A crash inside Keras is a reply, not an exit.
"""

import os
import pickle
import sys
import traceback


def serve(flavor, requests, replies):
    runner = None
    while True:
        try:
            request = pickle.load(requests)
        except EOFError:
            return
        try:
            if runner is None:
                runner = _runner(flavor)
            if request[0] == "describe":
                reply = ("ok", runner.describe())
            elif request[0] == "code_versions":  # the Keras this worker imported, by its own word
                from conformance.base.code_versions import of_module

                reply = ("ok", [found.as_json() for found in map(of_module, request[1]) if found is not None])
            elif request[0] == "run":
                _, example, mode = request
                reply = ("ok", (runner.run(example, mode), (runner.traced, runner.reused)))
            elif request[0] == "stateful":  # L9 (issue 41): a stateful built-in layer over batches
                from conformance.backends.layer_worker.builtin_side import run_stateful

                reply = ("ok", (run_stateful(runner, *request[1:]), (runner.traced, runner.reused)))
            elif request[0] == "last_path":  # which path the last built-in example ran (issue 41)
                reply = ("ok", (runner.last_path, (runner.traced, runner.reused)))
            elif request[0] == "forget":  # a replay's fresh attempt: compile every kept model anew
                runner.forget_compiled()
                reply = ("ok", (None, (runner.traced, runner.reused)))
            elif request[0] == "impl_gradients":  # an --impl row's value and gradients
                reply = ("ok", (runner.gradients(*request[1:]), (runner.traced, runner.reused)))
            elif request[0] in ("probe_cell", "reference"):  # a user's cell (--cell)
                reply = ("ok", (_user_cell_request(*request), (runner.traced, runner.reused)))
            else:
                from conformance.backends.layer_worker import keras_gradients

                answer = getattr(keras_gradients, {"gradients": "gradients", "train": "train_step"}[request[0]])
                reply = ("ok", (answer(runner, *request[1:]), (runner.traced, runner.reused)))
        except (Exception, KeyboardInterrupt, SystemExit) as error:  # noqa: BLE001 - reported to the parent as a crash
            # (an --impl loop may raise KeyboardInterrupt or SystemExit itself: a crash of the loop)
            reply = _error(error)
        try:
            answer = pickle.dumps(reply)
        except Exception as error:  # noqa: BLE001 - what came back cannot leave this process
            answer = pickle.dumps(_error(error))
        replies.write(answer)
        replies.flush()


def _error(error):
    from conformance.backends.crashes import crash_text

    return ("error", crash_text(error), traceback.format_exc())


def _user_cell_request(kind, *arguments):
    """("probe_cell", target, args JSON, search path, input shape): the cell's structure,
    or ("usage", one line) when it cannot be used; ("reference", example): the layer
    reference of an example of that cell (this worker runs under KERAS_BACKEND=numpy)."""
    from cells.user_cell import UserCellError
    from conformance.backends.layer_worker import user_cell_side

    if kind == "probe_cell":
        try:
            return ("structure", user_cell_side.probe(*arguments))
        except UserCellError as error:
            return ("usage", str(error))
    from conformance.contract.layer_reference import layer_outputs

    example, cell_weights = arguments
    return layer_outputs(example, cell_weights=cell_weights, user_step=user_cell_side.reference_step)


def _runner(flavor):
    if flavor == "impl":
        from conformance.backends.impl_side import ImplRunner

        return ImplRunner()
    if flavor == "openvino-rnn":
        from conformance.backends.openvino_side import OpenVINORunner

        return OpenVINORunner()
    from conformance.backends.layer_worker.keras_side import LayerRunner

    return LayerRunner(flavor)


def main():
    replies = os.fdopen(os.dup(sys.stdout.fileno()), "wb")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())  # stray prints go to stderr
    serve(sys.argv[1], sys.stdin.buffer, replies)


if __name__ == "__main__":
    main()
