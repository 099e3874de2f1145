"""The function reproducer scripts run on their own, with NumPy and the framework of the
loop they name, and tell a conforming `rnn` (exit 0) from a diverging or crashing one
(exit 1): the suite's backends, the declared findings and third-party loops alike."""

import inspect
import os
import subprocess
from dataclasses import replace
import sys
from math import prod
from types import SimpleNamespace

import numpy as np
import pytest

from cells.catalog import report_2018_example
from cells.example import Example, Options
from cells.spec import CellSpec, CellStructure, OutputSpec, StateSpec
from conformance.contract import reference
from conformance.judge.assertions import TOLERANCES, compare
from conformance.backends import BACKENDS, get_backend
from conformance.replay.function_script import PARTS, function_script
from conformance.known.ledger import load
from conformance.research.mutants import MUTANTS
from conformance.replay.repro import load_case

REFERENCE = get_backend("reference")
KNOWN = {entry.id: entry for entry in load()}
IMPL_OPS = ("numpy", "tensorflow", "jax", "torch")


def rich_example(**options):
    """Every structural feature at once: nested inputs and output, a rank-2 dense state
    and a counter, constants, float64, a row masked at every step holding a NaN."""
    structure = CellStructure(
        input_shapes=((2,), (1,)),
        states=(StateSpec((2, 2), "dense", "tanh"), StateSpec((1,), "counter")),
        outputs=(OutputSpec((3,), "dense", "sigmoid"), OutputSpec((2, 2), "state0")),
        constant_shapes=((2,),),
        hidden=2,
        dtype="float64",
    )
    rng = np.random.default_rng(0)
    weights = tuple(tuple(rng.uniform(-1, 1, prod(shape))) for shape in structure.weight_shapes())
    inputs = (rng.uniform(-1, 1, (3, 4, 2)), rng.uniform(-1, 1, (3, 4, 1)))
    inputs[0][1, 2, 0] = np.nan  # masked (R9)
    return Example(
        spec=CellSpec(structure, weights),
        options=Options(**options),
        inputs=inputs,
        initial_states=(rng.uniform(-1, 1, (3, 2, 2)), np.ones((3, 1))),
        constants=(rng.uniform(-1, 1, (3, 2)),),
        mask=np.array([[True, False, True, True], [False] * 4, [True, True, False, False]]),
        mask_family="interior-holes",
    )


def impl(ops, target="myrnn:rnn"):
    """A third-party loop as the --impl option describes it."""
    return SimpleNamespace(name="impl", modes=("eager",), impl_target=target, ops=ops)


def script_for(example, backend, mode, title=None):
    return function_script(example, backend, mode, REFERENCE.run(example, "eager"), title)


def write_script(source, tmp_path):
    path = tmp_path / "reproducer.py"
    path.write_text(source)
    return path


def run_script(path, tmp_path):
    """The script in a fresh interpreter, with `tmp_path` (home of any myrnn.py) importable."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(tmp_path), os.environ.get("PYTHONPATH")]))}
    return subprocess.run([sys.executable, str(path)], capture_output=True, text=True, timeout=600, cwd=tmp_path, env=env)


CONFORMING = {
    "fixed-tensorflow-eager": ("fixed-tensorflow", "eager", lambda: rich_example(
        zero_output_for_mask=True, return_all_outputs=False, mask_format="bool-trailing-axis", pass_input_length=True)),
    "fixed-tensorflow-xla": ("fixed-tensorflow", "xla", lambda: rich_example(
        unroll=True, time_major=True, go_backwards=True, mask_format="int32")),
    "keras-torch-eager": ("keras-torch", "eager", lambda: report_2018_example(zero_output_for_mask=True, go_backwards=True)),
    "keras-numpy-eager": ("keras-numpy", "eager", lambda: report_2018_example(unroll=True, go_backwards=True)),
    "tf-keras-function": ("tf-keras", "function", lambda: report_2018_example(repeats=2, return_all_outputs=False)),
    "keras-jax-jit": ("keras-jax", "jit", lambda: report_2018_example(unroll=True)),
    # the input transforms (cells/spec.py) print as the ops namespace's log and sqrt
    "keras-torch-eager-log": ("keras-torch", "eager", lambda: transformed_example("log")),
    "fixed-tensorflow-function-sqrt": ("fixed-tensorflow", "function", lambda: transformed_example("sqrt")),
}


def transformed_example(transform):
    """The 2018 report's cell reading log or sqrt of its input, on positive data."""
    example = report_2018_example(zero_output_for_mask=True)
    structure = replace(example.structure, input_transform=transform)
    return example.changed(spec=replace(example.spec, structure=structure), inputs=tuple(np.abs(x) + 0.5 for x in example.inputs))


@pytest.mark.parametrize("name, mode, make_example", CONFORMING.values(), ids=CONFORMING)
@pytest.mark.e2e
def test_a_conforming_backend_exits_0(name, mode, make_example, tmp_path):
    example, backend = make_example(), get_backend(name)
    expected = REFERENCE.run(example, "eager")
    assert compare(backend.run(example, mode), expected, example) == []  # the adapter agrees: so must the script
    result = run_script(write_script(function_script(example, backend, mode, expected), tmp_path), tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert all(f"{part}: agrees" in result.stdout for part in PARTS), result.stdout


@pytest.mark.e2e
def test_the_2018_loop_exits_1_and_names_the_masked_output(tmp_path):
    example = report_2018_example()
    source = script_for(example, get_backend("tensorflow-2018"), "eager", title="keras-team/keras#11472")
    assert source.startswith("# keras-team/keras#11472\n")
    result = run_script(write_script(source, tmp_path), tmp_path)
    assert result.returncode == 1, result.stdout + result.stderr
    sample, step = (int(i) for i in np.argwhere(~example.mask)[0])
    assert f"outputs: DIFFERS\n  outputs[0] at ({sample}, {step}, 0): got" in result.stdout, result.stdout
    assert "last_output: DIFFERS" in result.stdout and "new_states: agrees" in result.stdout


def known_script(entry_id):
    """The script of a declared finding's saved example, on its backend, in the last mode it declares."""
    entry = KNOWN[entry_id]
    _, example, _ = load_case(entry.example)
    return entry, script_for(example, get_backend(entry.backend), entry.modes[-1], title=f"{entry.id}: {entry.reason}")


@pytest.mark.e2e
def test_a_declared_value_divergence_exits_1(tmp_path):
    entry, source = known_script("keras-jax-masked-output-from-states0")
    result = run_script(write_script(source, tmp_path), tmp_path)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "outputs: DIFFERS" in result.stdout and "CRASH" not in result.stdout, result.stdout


@pytest.mark.e2e
def test_a_declared_crash_exits_1_with_its_message(tmp_path):
    entry, source = known_script("keras-numpy-stateless-cell-with-mask-crashes")
    declared = entry.shows_as[0].removeprefix("crash: ")
    result = run_script(write_script(source, tmp_path), tmp_path)
    assert result.returncode == 1, result.stdout + result.stderr
    assert f"CRASH: {declared}" in result.stdout, result.stdout


@pytest.mark.e2e
def test_a_third_party_loop_exits_1_until_it_is_fixed(tmp_path):
    """Acceptance: a generated reproducer, run on its own, exits non-zero for a faulty
    implementation and zero once the implementation is fixed (the same script)."""
    mutant = MUTANTS["masked-output-from-states0"]
    module = tmp_path / "myrnn.py"
    module.write_text(f"from conformance.research.mutants import MUTANTS\n\nrnn = MUTANTS[{mutant.name!r}].rnn\n")
    script = write_script(script_for(report_2018_example(), impl("numpy"), "eager"), tmp_path)
    faulty = run_script(script, tmp_path)
    assert faulty.returncode == 1, faulty.stdout + faulty.stderr
    assert "outputs: DIFFERS" in faulty.stdout
    module.write_text(inspect.getsource(reference))  # the fix: a loop that follows the contract
    fixed = run_script(script, tmp_path)
    assert fixed.returncode == 0, fixed.stdout + fixed.stderr


FUNCTION_BACKENDS = [b for b in BACKENDS.values() if b.level == "function"]
TARGETS = [(b, mode) for b in FUNCTION_BACKENDS + [impl(ops) for ops in IMPL_OPS] for mode in b.modes]


@pytest.mark.parametrize("backend, mode", TARGETS, ids=[f"{b.name}-{b.ops}-{m}" for b, m in TARGETS])
def test_every_backend_and_mode_renders_a_script_that_compiles(backend, mode):
    """Keras 2.3.1 lacks time_major, zero_output_for_mask and return_all_outputs: its
    rich example keeps them at their defaults (contract section 4)."""
    options = {} if backend.ops == "theano" else dict(time_major=True, zero_output_for_mask=True)
    for example in (report_2018_example(), rich_example(go_backwards=True, unroll=True, **options)):
        source = script_for(example, backend, mode)
        compile(source, f"{backend.name}-{mode}", "exec")
        tolerance = TOLERANCES[example.dtype]
        assert f"RTOL, ATOL = {tolerance['rtol']!r}, {tolerance['atol']!r}" in source
        assert ("tf.function(" in source) == (mode in ("function", "xla"))
        assert ("jit_compile=True" in source) == (mode == "xla")
        assert ("jax.jit(" in source) == (mode == "jit")
        assert ("theano.function(" in source) == (mode == "compiled")
        keras_backend = getattr(backend, "keras_backend", backend.ops)  # keras-openvino builds graphs with keras.ops
        assert (f'os.environ["KERAS_BACKEND"] = "{keras_backend}"' in source) == backend.name.startswith("keras")
        assert ("rnn = getattr(importlib.import_module('myrnn'), 'rnn')" in source) == (backend.name == "impl")


def test_a_mode_the_backend_lacks_or_an_option_keras_2_lacks_is_refused():
    with pytest.raises(ValueError, match="no mode 'jit'"):
        script_for(report_2018_example(), get_backend("keras-torch"), "jit")
    with pytest.raises(ValueError, match="time_major"):
        script_for(report_2018_example(time_major=True), get_backend("keras2-theano"), "compiled")
