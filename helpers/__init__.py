"""Plumbing shared by the course notebooks: data, models, profiling, measuring, plots.

Import the submodules you need (``from helpers import datasets``). This package
imports nothing heavy itself, so ``python -m helpers.course`` runs on a bare Python
before TensorFlow is installed.
"""
