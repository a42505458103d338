"""KOBAN Geo: the engine behind the neighbourhood problem map.

The library knows nothing of Streamlit: `dashboard/` calls it, never the other way round.
"""

__version__ = "0.1.0"
