"""Benchmarks measured as ratios against raw DuckDB on the same files (docs/PERFORMANCE.md)."""
