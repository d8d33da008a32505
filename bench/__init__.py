"""Benchmarks: `python -m bench.<area>` (see `make bench`)."""
