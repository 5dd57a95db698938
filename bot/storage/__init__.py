"""Persistence: SQLAlchemy 2 models, the SQL store and Alembic migrations."""
