"""Policy evaluation on simulated firm panels (issue 15): the panel's schema and treatment
groups (:mod:`~sim.evaluation.panel`), the evaluator's estimators
(:mod:`~sim.evaluation.estimators`), the true effects from a counterfactual twin and the
scoring of estimators against them (:mod:`~sim.evaluation.truth`), and synthetic panels with a
known effect (:mod:`~sim.evaluation.synthetic`)."""
