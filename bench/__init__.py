"""Mend's benchmarks: `make bench` (or `python -m bench [name ...]`). Every figure is printed
as a ratio against a baseline measured in the same run, on the same database and broker."""
