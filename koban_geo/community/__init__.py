"""Community work on top of the analytics: accounts and their throttles, neighbourhood meetings and voting,
and problem cards (SARA).

Owns: local accounts, sessions and lock-out (`accounts`), login throttles (`throttle`), meetings and their
items (`meetings`), the join link phones open (`joining`), ballots and results (`voting`), problem cards
(`problems`).
Imports: `koban_geo.store`, `koban_geo.privacy`, `koban_geo.analysis`.
"""

__all__ = ["accounts", "joining", "meetings", "problems", "throttle", "voting"]
