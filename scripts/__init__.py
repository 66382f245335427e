"""Benchmarks and model tools, run as `python scripts/<name>.py`; tests import them as modules."""
