"""The plan store: SQLAlchemy 2 tables, Alembic migrations and the repository functions the app
calls. SQLite by default, PostgreSQL through ``DATABASE_URL``."""
