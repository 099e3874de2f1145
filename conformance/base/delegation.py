"""A pytest run's delegated backends: their tests run by pytest in their managed environment.

`pytest` in the main environment cannot import Keras 2 on Theano (numpy 1.23), but it
selects it (the default run does). conformance/properties/test_environments.py then has one test
per environment, which creates the environment if needed (conformance/base/environments.py)
and runs there, in one pytest process, what the main run would have run on those
backends: the properties (`--pyargs conformance --backends ...`) and the suite's own tests
that are about them (`SUITE_TESTS`, when this is a checkout). The options that decide the
sample and the verdict (profile, seed, examples, the known-divergence file, limits) are
passed on, so the delegated run is the run the user asked for, elsewhere.
"""

import subprocess
from pathlib import Path

from conformance.base import environments
from conformance.base import profiles

# The suite's own test files that are about a managed environment's backends (they skip
# them in the main environment, where they are not installed).
SUITE_TESTS = {"theano": ("tests/replay/test_gradient_reproducers.py", "tests/backends/test_theano_gradients.py")}
# (option, takes a value) of the main run passed on to the delegated run when given.
PASSED_ON = (("--max-examples", True), ("--hypothesis-seed", True), ("--ignore-known", False),
             ("--known-divergences", True), ("--example-timeout", True), ("--shrink-seconds", True), ("--repro-dir", True))
SUMMARY_LINES = 40


def command(environment, backends, config):
    """The pytest command line of the delegated run."""
    source = environments.source_path()
    line = [str(environment.python), "-m", "pytest", "-p", "conformance.plugin", "-p", "no:cacheprovider", "--noconftest",
            "-q", "-rfE", "--hypothesis-profile", config.getoption("--hypothesis-profile", default=None) or profiles.default_profile(),
            "--backends", ",".join(backends)]
    for option, takes_value in PASSED_ON:
        value = config.getoption(option, default=None)
        if option == "--known-divergences" and value is not None:
            value = str(Path(value).resolve())
        if value is None or value is False:  # (0 and 0.0 are values)
            continue
        line += [option, str(value)] if takes_value else [option]
    tests = [str(source / path) for path in SUITE_TESTS.get(environment.spec.name, ()) if (source / path).exists()]
    return line + tests + ["--pyargs", "conformance"]


def run(spec, backends, config, log_dir):
    """(passed, message): the delegated run's verdict, its pytest summary, its log's path.
    An environment that cannot be created is (False, 'NOT INSTALLED: ...')."""
    try:
        environment = environments.ensure(spec, config.getoption("--env-dir", default=None), say=lambda line: None)
    except environments.EnvironmentFailure as error:
        return False, f"NOT INSTALLED: {', '.join(backends)}: {error}"
    log_dir = Path(log_dir)
    log_dir.mkdir(parents=True, exist_ok=True)
    log_path = log_dir / f"environment-{spec.name}.log"
    line = command(environment, backends, config)
    with open(log_path, "w") as log:
        log.write(" ".join(line) + "\n")
        log.flush()
        finished = subprocess.run(line, stdout=log, stderr=subprocess.STDOUT, env=environment.worker_env(),
                                  cwd=environments.source_path(), stdin=subprocess.DEVNULL)
    tail = [text for text in log_path.read_text(errors="replace").splitlines() if text.strip()][-SUMMARY_LINES:]
    verdict = f"{', '.join(backends)} in the {spec.name} environment ({environment.path}): pytest exit status {finished.returncode}"
    return finished.returncode == 0, "\n".join([verdict, f"log: {log_path}", *tail])
