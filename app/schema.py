"""Is the database at this code's schema? Asked by the ``flask`` commands before they touch the database and by
``/readyz``.

A database not migrated yet, or one migration behind the code (a deployment whose ``flask db upgrade`` was forgotten
or failed), had every command end in a SQLAlchemy traceback ("relation … does not exist", "column … does not
exist") — and ``flask ticker --once`` in twenty of them with exit code 0 — while ``/readyz`` said ``ready`` and every
page that read the new column answered 500. Now a command says what to run and exits 1, and readiness fails.

A database *ahead* of the code (its revision unknown here: the new release migrated first, the old web processes
still serve during a rolling deploy) counts as usable: new migrations add, they do not take away what the old code
reads.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from flask import current_app

from app.extensions import db


@dataclass(frozen=True)
class SchemaState:
    state: str  # current | behind | ahead | empty
    database: tuple[str, ...]  # the revisions the database is at (alembic_version), none when not migrated
    code: tuple[str, ...]  # this code's heads

    @property
    def usable(self) -> bool:
        return self.state in ("current", "ahead")

    def explain(self) -> str:
        at = ", ".join(self.database) or "none"
        wanted = ", ".join(self.code)
        if self.state == "empty":
            return (f"The database has no tables of this application yet (code at {wanted}). "
                    "Run 'flask --app wsgi db upgrade' first.")
        if self.state == "behind":
            return (f"The database is at migration {at}, this code needs {wanted}: it is behind. "
                    "Run 'flask --app wsgi db upgrade' first.")
        return f"The database is at migration {at} (code at {wanted})."


@lru_cache(maxsize=4)
def _script(directory: str) -> tuple[tuple[str, ...], frozenset[str]]:
    """This code's heads and every revision it knows (read once per process: the code does not change under it)."""
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    config = Config()
    config.set_main_option("script_location", directory)
    script = ScriptDirectory.from_config(config)
    return tuple(sorted(script.get_heads())), frozenset(rev.revision for rev in script.walk_revisions())


def schema_state() -> SchemaState:
    """Compare the database's revisions with the code's heads (one small query; raises when the database cannot be
    reached)."""
    from alembic.runtime.migration import MigrationContext

    heads, known = _script(str(current_app.extensions["migrate"].directory))
    with db.engine.connect() as conn:
        current = tuple(sorted(MigrationContext.configure(conn).get_current_heads()))
    if set(current) == set(heads):
        state = "current"
    elif not current:
        state = "empty"
    elif any(rev not in known for rev in current):
        state = "ahead"
    else:
        state = "behind"
    return SchemaState(state, current, heads)
