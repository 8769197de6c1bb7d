"""Benchmarks for the performance targets in INTERFACES.md (P1–P12).

They are not tests (STYLE.md rule 8): `make bench` runs them against a database of their own, prints a table
and writes `bench-results.json`, and every figure is a ratio to a baseline measured in the same run, so the
numbers mean something on any machine.
"""
