"""Synthetic populations for experiments, evaluation and load."""
