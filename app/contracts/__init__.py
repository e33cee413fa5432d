"""Contracts generated from an allocation: the printable document, signatures, the monthly-act loop."""
