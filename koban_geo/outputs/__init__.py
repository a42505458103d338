"""Files that leave the store: RFC 7946 GeoJSON, CSV, GeoPackage and GeoParquet exports through the audience tiers, and the
printable meeting pack.

Owns: class breaks of area counts, for screen and paper alike (`classes`), GeoJSON writing rules (`geojson`), exports and their audit (`export`), the file formats (`writers`), the meeting pack (`meeting_pack`),
what a map shows per audience tier (`maplayers`).
Imports: `koban_geo.store`, `koban_geo.privacy`, `koban_geo.analysis`, `koban_geo.community`.
"""

__all__ = ["classes", "export", "geojson", "maplayers", "meeting_pack", "writers"]
