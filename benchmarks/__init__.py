"""Benchmarks: `make bench` (read side, benchmarks.run) and `make bench-write` (write side)."""
