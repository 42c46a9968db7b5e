"""Strongroom: store, share and prove evidence and documents."""

__version__ = "0.1.0"
