"""Metadata database: engine, sessions, the declarative base and Alembic migrations."""
