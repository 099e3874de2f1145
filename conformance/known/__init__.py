"""The ledger of declared divergences (known_divergences.toml and each entry's minimal case),
the conditions over an example's facts that entries are written in, and the cells of
declared findings."""
