"""Tugi's scale data and benchmarks.

`bench.generate` fills a database with a deterministic organisation at a named scale (see
`bench.scales`); `bench.run` prepares a dedicated benchmark database, times the registered
operations (`bench.operations`) in-process and prints them against their goals.
See docs/benchmarks.md.
"""
