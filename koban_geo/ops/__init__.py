"""Running a store: backup, restore, purge and compaction (`maintenance`), the installation check (`doctor`) and
the demo store (`demo`).

Imports: any subpackage but `koban_geo.cli`.
"""

__all__ = ["demo", "doctor", "maintenance"]
