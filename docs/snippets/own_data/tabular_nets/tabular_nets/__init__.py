"""Our torch models for tabular data."""
