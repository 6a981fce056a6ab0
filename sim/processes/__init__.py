"""The processes of the schedule (docs/ODD.md, section 3), one module each: its
orchestration (a short Python function that :meth:`sim.model.ClusterModel.step` calls) and its
own ``@njit`` kernels side by side.  Primitives that several processes share are in
:mod:`sim.kernels`; the creation of companies is in :mod:`sim.world`.

A process reads and writes the model's state (``m.actors``, ``m.projects``, ``m.clusters``,
``m.poles``), adds to the year's flows (``m.ledger``) and draws from its own streams; a result
that a later sub-step needs is returned and passed on by the schedule, never left in a cache.
"""
