"""Community work on top of the analytics: accounts and their throttles, neighbourhood meetings and voting,
and problem cards (SARA).

Owns: local accounts, sessions and lock-out (`accounts`), login throttles (`throttle`), meetings and their
items (`meetings`), ballots and results (`voting`), problem cards (`problems`).
Imports: `koban_geo.store`, `koban_geo.privacy`, `koban_geo.analysis`.
"""

__all__ = ["accounts", "meetings", "problems", "throttle", "voting"]
