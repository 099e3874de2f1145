"""The pytest side: the plugins that run the properties on each backend, record results and
coverage, and excuse declared divergences (conformance/plugin.py is their public face)."""
