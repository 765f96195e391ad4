"""Fitting Upstream models to observed service data (to come)."""
