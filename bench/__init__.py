"""`sankalp bench`: how far the pipeline carries, measured on the machine it runs on."""
