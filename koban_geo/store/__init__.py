"""The store: one DuckDB file with the spatial extension, its migrations and named SQL, typed settings, the
metric CRS, the theme taxonomy and language list, and what the store holds.

Owns: opening and upgrading a store (`db`), where SQL and data files live (`resources`), `Settings`, the
store's metric CRS (`crs`), file fingerprints (`hashing`), theme codes and labels and `LANGUAGES` (`taxonomy`), counts (`stats`).
Imports: nothing else of koban_geo; every other subpackage imports this one.
"""

__all__ = ["crs", "db", "hashing", "resources", "settings", "stats", "taxonomy"]
