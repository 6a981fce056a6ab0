"""Numba kernels of the per-step hot path (``@njit(cache=True)``, arrays in, arrays out).

Kernels import nothing from Mesa, pandas or the scenario schema; randomness comes in as an
explicit xoshiro256** state (:mod:`sim.kernels.rng`).  Each has a slow pure-Python twin in
``tests/reference.py`` that the tests compare it with draw for draw.
"""
