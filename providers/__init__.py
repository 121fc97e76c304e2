"""Pulumi dynamic providers used to live here; what remains are re-export shims for state pickled under these paths."""
