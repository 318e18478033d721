"""Simulators of the systems the hub talks to, for the demo, the tests and benchmarks."""
