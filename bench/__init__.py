"""Benchmarks: one module per benchmark, each with `run() -> dict` of its figures and the
reference it was measured beside in the same run. `make bench` runs them all."""
