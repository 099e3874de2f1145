"""Loads the suite's pytest plugin for every test run from the repository root."""

pytest_plugins = ["conformance.plugin"]
