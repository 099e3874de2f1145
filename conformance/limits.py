"""Run limits of a worker (pytest plugin, loaded by conformance.plugin).

Placeholder: the options that bound how long one failure may take (shrinking, timeouts)
live here.
"""
