"""One run end to end: setup, the shards, the global steps, the writer and the report."""
