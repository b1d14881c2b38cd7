"""Faust agents: thin shells that load state, call the pure core, store state and send."""

from agents import smoke  # noqa: F401  (registers the agent on the app)
