"""Realistic statewide traffic for demos, tests and benchmarks."""
