"""The command line's subcommands (`rnn-conformance run|list|mutants|merge|soak|known`) and the
worker processes a run starts: the top wing, imported by conformance/cli.py only."""
