"""Benchmarks: each compares chainrule with a baseline in the same run."""
