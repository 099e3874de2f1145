"""The pytest11 entry point: the suite's plugin (conformance/plugin.py) for a pytest run that
asks for the suite, and nothing for any other run.

Installed, rnn-conformance has pytest load this module in every run of the environment.
The plugin itself registers options with plain names (--backends, --report, --markdown),
Hypothesis profiles and a summary: in another project's tests they would clash with its
own options and change its Hypothesis settings. So this module only reads the command
line, importing nothing: a run that names the suite's package (`pytest --pyargs
conformance ...`, a path inside it) gets the plugin, as a run from the repository (its
conftest.py) and `-p conformance.plugin` do; any other run gets nothing.
"""

from pathlib import Path

PLUGIN = "conformance.plugin"
PACKAGE = Path(__file__).resolve().parent


def pytest_load_initial_conftests(early_config, parser, args):
    """Before the command line is parsed in full: the plugin's options exist once it is in."""
    if early_config.pluginmanager.get_plugin(PLUGIN) is None and names_the_suite(args):
        early_config.pluginmanager.import_plugin(PLUGIN)


def names_the_suite(args):
    """Whether the command line names the suite's tests: `--pyargs conformance[.module]`,
    or a path to the package or inside it."""
    pyargs = "--pyargs" in args
    for arg in (a for a in args if not a.startswith("-")):
        name = arg.split("::")[0]
        if pyargs and (name == PACKAGE.name or name.startswith(PACKAGE.name + ".")):
            return True
        try:
            path = Path(name).resolve()
        except (OSError, ValueError):
            continue
        if path == PACKAGE or PACKAGE in path.parents:
            return True
    return False
