"""Adapter for Keras 3's PyTorch `rnn` (`keras.src.backend.torch.rnn.rnn`), eager only.

Keras 3 backend modules import side by side whatever KERAS_BACKEND says. NumPy arguments
become CPU tensors on the example's own memory (torch.from_numpy, keeping their dtypes,
masks included), so a loop that writes into its arguments is caught (R13); results come
back with `.detach().cpu().numpy()`.
"""

import optree

from conformance.backends.base import Backend, Result, shared_torch_tensor, static_options_and_data, torch_to_numpy


class KerasTorch(Backend):
    """Keras 3's own PyTorch loop (a Python while loop over unbound time slices)."""

    name = "keras-torch"
    description = "Keras 3 keras.src.backend.torch.rnn.rnn"
    packages = ("keras", "torch")
    extra = "keras"
    modes = ("eager",)
    cheap_modes = ("eager",)  # 57 examples/s in the default run
    ops = "torch"
    differentiates = True  # autograd, eager (CONTRACT.md section 5)

    def run(self, example, mode):
        from keras.src.backend.torch.rnn import rnn

        to_torch = shared_torch_tensor
        arguments = example.call_arguments()
        for name in ("inputs", "initial_states", "mask", "constants"):
            if arguments[name] is not None:
                arguments[name] = optree.tree_map(to_torch, arguments[name])
        weights = [to_torch(w) for w in example.spec.weight_arrays()]
        returned = rnn(self.step_function(example.structure, weights), **arguments)
        return Result.from_framework(returned, to_numpy=torch_to_numpy)

    def run_with_gradients(self, example, mode, loss_weights):
        """The forward run above under autograd, L and its gradients by `grad_torch` (G1)."""
        from keras.src.backend.torch.rnn import rnn

        from conformance.backends import grad_torch

        static, data = static_options_and_data(example)
        data = {name: optree.tree_map(shared_torch_tensor, value) for name, value in data.items()}
        weights = [shared_torch_tensor(w) for w in example.spec.weight_arrays()]

        def loop(data, weights):
            return rnn(self.step_function(example.structure, weights), **data, **static)

        returned, grads = grad_torch.value_and_grad(loop, data, weights, loss_weights)
        return Result.from_framework(returned, to_numpy=torch_to_numpy), grad_torch.as_gradients(grads)
