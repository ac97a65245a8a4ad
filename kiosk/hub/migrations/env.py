"""Alembic environment: runs the migrations on the URL the hub passes in (no alembic.ini)."""
from alembic import context

from kiosk.hub.db import make_engine
from kiosk.hub.models import Base

config = context.config
url = config.attributes.get("db_url") or config.get_main_option("sqlalchemy.url")
connection = config.attributes.get("connection")


def run() -> None:
    if connection is not None:
        context.configure(connection=connection, target_metadata=Base.metadata)
        with context.begin_transaction():
            context.run_migrations()
        return
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            context.configure(connection=conn, target_metadata=Base.metadata)
            with context.begin_transaction():
                context.run_migrations()
            conn.commit()
    finally:
        engine.dispose()


run()
