"""Running Alembic from code: `upgrade head` at start-up, and the `migrate` command."""

from importlib.util import find_spec
from pathlib import Path

from alembic import command
from alembic.config import Config


def alembic_config(database_url: str) -> Config:
    """Return an Alembic config for our migrations against `database_url`."""
    spec = find_spec("migrations")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("the migrations package is not installed")
    config = Config()
    config.set_main_option(
        "script_location", str(Path(next(iter(spec.submodule_search_locations))))
    )
    # Alembic's ini interpolation treats % specially; URLs may contain %-escapes.
    config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    return config


def upgrade(database_url: str, revision: str = "head") -> None:
    """Migrate the database at `database_url` up to `revision`."""
    command.upgrade(alembic_config(database_url), revision)


def downgrade(database_url: str, revision: str) -> None:
    """Migrate the database at `database_url` down to `revision`."""
    command.downgrade(alembic_config(database_url), revision)


def current(database_url: str) -> None:
    """Print the database's current revision."""
    command.current(alembic_config(database_url))
