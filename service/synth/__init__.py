"""Synthetic training data for the non-text modalities, made from a text intent file."""
