"""Payments of accepted acts by the operator — exactly once per act."""
