"""Calibration of clustersim: observed targets, the simulated method of moments, and the
calibrated parameters that the baseline scenario reads (``calibrated.toml``)."""
