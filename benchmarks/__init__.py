"""adjit's benchmarks: run `python -m benchmarks NAME` (not part of the tests)."""
