"""Implementations of the `rnn` signature that ship with the suite: one correct, one known-bad."""
