"""What every wing may use: usage errors, Hypothesis profiles and budgets, limits, output paths,
managed environments, the versions of the code under test."""
