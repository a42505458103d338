"""Analytics on the store's anonymised concerns: counts on grids and areas, hotspot statistics and the numbers
behind the Analysis and Assessment steps of SARA.

Owns: the analysis filter and study grid (`grid`), Gi* and FDR (`gistar`), KDE (`kde`), DBSCAN clusters
(`clusters`), emerging hotspots (`emerging`), perception vs recorded crime (`perception`), backtesting
(`backtest`; its events and grid in `backtest_data`, rankings, metrics and model choice in `backtest_model`), hotspot outputs through the tiers (`hotspots`), area counts (`areas`), a place's details
(`details`), before/after assessment (`assessment`), risk factors by distance to open-data features (`risk`),
near repeats by the Knox test (`near_repeat`).
Imports: `koban_geo.store`, `koban_geo.privacy` (every released figure goes through `privacy.audience`).
"""

__all__ = [
    "areas",
    "assessment",
    "backtest",
    "backtest_data",
    "backtest_model",
    "clusters",
    "details",
    "emerging",
    "gistar",
    "grid",
    "hotspots",
    "kde",
    "near_repeat",
    "perception",
    "risk",
]
