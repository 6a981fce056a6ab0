"""Elementwise ``exp`` and ``log`` of float64 arrays that give the same bits on every x86-64
processor: the C library's functions, as the kernels call them.

NumPy dispatches its float64 ``np.exp`` and ``np.log`` at run time on the processor's vector
extensions: with AVX-512 it uses an implementation of its own, which differs in the last bit
from the C library's for some inputs (measured: every shipped scenario's digests differ with
it and match the identity reference with ``NPY_DISABLE_CPU_FEATURES="X86_V4 AVX512_ICL"``).
The model's results must not depend on the machine, so the Python-level code of the model
calls these instead of NumPy's ufuncs (the kernels already do: Numba lowers ``np.exp`` and
``math.exp`` to the C library's ``exp``); ``tests/test_machine_independence.py`` checks it.
Scalars: ``math.exp`` and ``math.log`` (the same C functions).
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit


@njit(cache=True)
def exp(x):
    """``exp`` of each element of a 1-D float64 array (a new array)."""
    out = np.empty(x.shape[0])
    for i in range(x.shape[0]):
        out[i] = math.exp(x[i])
    return out


@njit(cache=True)
def log(x):
    """Natural ``log`` of each element of a 1-D float64 array (a new array; ``-inf`` at 0)."""
    out = np.empty(x.shape[0])
    for i in range(x.shape[0]):
        out[i] = math.log(x[i]) if x[i] > 0.0 else (-np.inf if x[i] == 0.0 else np.nan)
    return out
