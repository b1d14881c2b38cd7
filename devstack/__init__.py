"""The project's own local services, started from real binaries without Docker.

Apache Kafka (KRaft, from the official jars on Maven Central) and PostgreSQL (from the
machine's binaries). Used by `sankalp stack ...`, the demo and the test fixtures.
"""
