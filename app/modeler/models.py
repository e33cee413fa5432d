"""The modeler's records. An instance's migration is the engine's own record (app.engine.models); it is named
here too, where the modeler's pages and queries have always imported it."""

from app.engine.models import InstanceMigration

__all__ = ["InstanceMigration"]
