"""Checks of the engine's gradients: sympy's closed forms and the three-way verification."""
