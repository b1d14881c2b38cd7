"""The shared kit of the integration tests: per-test settings and schemas, one reader of
the pipeline's outputs, and process runners (with fault injection) for workers and sinks."""
