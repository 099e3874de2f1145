"""Tools that study the suite and the backends rather than gate them: mutation analysis and its
catalog, soak triage, release history."""
