"""Stage 3, mine: neighbour search (faiss), the cached neighbour graph, clustering at a threshold
with the user's constraints, and the mining pipeline behind "Find duplicates" (mining)."""
