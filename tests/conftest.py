"""The suite's own tests use pytester to run pytest on small generated projects."""

pytest_plugins = ["pytester"]
