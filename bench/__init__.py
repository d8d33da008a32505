"""Benchmarks: `python -m bench.<name>` against the private services (scripts/services.sh)."""
