"""Demo data: realistic, deterministic, with anomalies injected so the checks can be seen working."""
