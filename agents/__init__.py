"""Faust agents: thin shells that load state, call the pure core, store state and send.

Nothing here runs at import: `agents.worker.create_worker(settings)` builds a worker and
attaches each module's agents to it (`attach(worker)`).
"""
