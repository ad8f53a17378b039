"""Core: configuration and plumbing that imports nothing else of the project."""
