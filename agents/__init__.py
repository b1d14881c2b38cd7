"""Faust agents: thin shells that load state, call the pure core, store state and send."""

from agents import clock, intake, lifecycle, liveness, smoke  # noqa: F401  (register on the app)
