"""The model's state: codes (:mod:`sim.state.codes`), the actors' and the projects'
struct-of-arrays (:mod:`sim.state.actors`, :mod:`sim.state.projects`), the institutions
(:mod:`sim.state.institutions`), the per-run constants (:mod:`sim.state.params`) and the
Numba views that hand them to kernels (:mod:`sim.state.views`).

This file imports nothing, so that the codes can be read without NumPy or Numba.
"""
