"""Alembic environment: run on the connection :func:`mimicry.store.database.upgrade` passes in,
or on ``sqlalchemy.url`` when the alembic command line drives it."""

from alembic import context
from sqlalchemy import create_engine

from mimicry.store.models import VERSION_TABLE, Base

config = context.config


def run_migrations(connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        version_table=VERSION_TABLE,
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()


connection = config.attributes.get("connection")
if connection is not None:
    run_migrations(connection)
else:
    with create_engine(config.get_main_option("sqlalchemy.url")).begin() as connection:
        run_migrations(connection)
