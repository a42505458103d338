"""Shared pieces of the dashboard screens: store access, login, languages, map, filters."""
