"""Synthetic training data made from text intent examples (screenshots, ...)."""
