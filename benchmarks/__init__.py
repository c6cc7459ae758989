"""Benchmarks: each scenario times the library against a bare baseline measured in the same run.

`python -m benchmarks` (or `make bench`) runs every scenario, prints one table and writes
`benchmarks/results.json`. `--quick` uses small sizes only; `--only NAME` runs one scenario.
Numbers are ratios against the baseline, never absolute thresholds, and never part of the
test pass/fail.
"""
