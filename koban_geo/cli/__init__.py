"""The `koban-geo` command line: thin click commands over library functions, one module per command group.

`main` holds the group (entry point `koban_geo.cli.main:main`) and the store/ingest/analysis commands; `common` the shared failure exit and context;
`analyst`, `basemap`, `export`, `meetings`, `ops` and `users` their groups. Heavy modules are imported inside the commands.
Imports: anything in koban_geo; nothing imports it.
"""

__all__ = ["analyst", "basemap", "common", "export", "main", "meetings", "ops", "users"]
