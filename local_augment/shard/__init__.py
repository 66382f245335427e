"""One shard of input rows: generating and scoring it, and storing the result."""
