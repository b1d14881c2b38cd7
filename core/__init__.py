"""The functional core: complaint state machine, SLA calendar, routing, escalation ladder.

Pure Python: no Kafka, no database, no clock of its own (time is always passed in), so
every rule is tested exhaustively and runs the same live, in tests and in replays.
"""
