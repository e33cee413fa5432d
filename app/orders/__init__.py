"""The state order a regional department places for an academic year: budget, norms, application window."""
