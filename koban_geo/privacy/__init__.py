"""Privacy by construction: what a location, a time and a text become at intake, and what each audience may see.

Owns: snapping and time truncation (`anonymise`), the text scrubber (`scrub`), the audience tiers and their one
gate `release` (`audience`), near-duplicate groups (`grouping`), moderation of themes and missed personal data
(`moderation`).
Imports: `koban_geo.store` only.
"""

__all__ = ["anonymise", "audience", "grouping", "moderation", "scrub"]
