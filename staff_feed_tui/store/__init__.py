"""Persistence: SQLModel tables, the engine, queries, migrations, the attachment store and the change feed."""
