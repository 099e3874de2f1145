"""A torch loop (`CorrectTorchLoop` or a gradient mutant) as a differentiating backend.

The properties see it as any eager torch row: step functions over torch ops, the data as
tensors on the example's own memory (R13), and `run_with_gradients` differentiating L with
`grad_torch.value_and_grad`, the same code that differentiates keras-torch (G1), so a
gradient the properties reject is the loop's doing, never the adapter's.
"""

import optree

from conformance.backends.base import Backend, Result, shared_torch_tensor, static_options_and_data, torch_to_numpy


class TorchLoopBackend(Backend):
    packages = ("torch",)
    modes = ("eager",)
    ops = "torch"
    differentiates = True  # autograd, eager (CONTRACT.md section 5)

    def __init__(self, name, rnn, description="", run_by_default=False):
        self.name, self.rnn, self.description, self.run_by_default = name, rnn, description, run_by_default

    def _arguments(self, example):
        static, data = static_options_and_data(example)
        data = {name: optree.tree_map(shared_torch_tensor, value) for name, value in data.items()}
        return static, data, [shared_torch_tensor(w) for w in example.spec.weight_arrays()]

    def run(self, example, mode):
        static, data, weights = self._arguments(example)
        returned = self.rnn(self.step_function(example.structure, weights), **data, **static)
        return Result.from_framework(returned, to_numpy=torch_to_numpy)

    def run_with_gradients(self, example, mode, loss_weights):
        """The forward run above under autograd; L and its gradients by `grad_torch` (G1)."""
        from conformance.backends import grad_torch

        static, data, weights = self._arguments(example)

        def loop(data, weights):
            return self.rnn(self.step_function(example.structure, weights), **data, **static)

        returned, grads = grad_torch.value_and_grad(loop, data, weights, loss_weights)
        return Result.from_framework(returned, to_numpy=torch_to_numpy), grad_torch.as_gradients(grads)
