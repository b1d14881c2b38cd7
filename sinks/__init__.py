"""Sinks: the current state to Postgres, metrics to Prometheus."""
