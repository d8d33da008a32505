"""Helpers shared by the tests, the benchmarks and `make run`'s sandbox; not part of the web app."""
