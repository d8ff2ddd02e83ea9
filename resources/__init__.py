"""Data files shipped with quoradup: icon, desktop entry, demo collection."""
