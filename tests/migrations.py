"""Data migrations tested as they run: the project's state at a past migration, rows made in it, then the
step under test, then back to the latest state for the rest of the suite."""

from typing import Any

from django.db import connection
from django.db.migrations.executor import MigrationExecutor

Targets = list[tuple[str, str]]


class MigrationSteps:
    def __init__(self) -> None:
        self.executor = MigrationExecutor(connection)

    def apps_at(self, targets: Targets) -> Any:
        """Migrates (forwards or backwards) to `targets`; the historical models there."""
        self.executor.loader.build_graph()
        self.executor.migrate(targets)
        return self.executor.loader.project_state(targets).apps

    def to_latest(self) -> None:
        self.executor.loader.build_graph()
        self.executor.migrate(self.executor.loader.graph.leaf_nodes())
