"""``sim.kernels.libm`` is the C library's ``exp`` and ``log``, element by element, to the bit
(Python's ``math`` calls the same functions): the model's Python-level code relies on it to
give the same results on every processor (``tests/test_machine_independence.py``)."""

from __future__ import annotations

import math

import numpy as np

from sim.kernels import libm


def test_exp_and_log_are_the_c_library_s_to_the_bit():
    rng = np.random.default_rng(20010101)
    x = np.concatenate([rng.normal(0.0, 3.0, 5000), [0.0, -745.2, 709.7, 1e-300]])
    got = libm.exp(x)
    want = np.array([math.exp(v) for v in x])
    assert got.tobytes() == want.tobytes()
    u = np.concatenate([rng.random(5000), [1e-300, 1.0, 0.5]])
    got = libm.log(u)
    assert got.tobytes() == np.array([math.log(v) for v in u]).tobytes()
    assert libm.log(np.array([0.0]))[0] == -np.inf and np.isnan(libm.log(np.array([-1.0]))[0])
