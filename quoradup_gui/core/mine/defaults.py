"""Defaults shared by the GUI and the CLI, importable at start-up without numpy or pandas."""

# Best mining F1 of the default model on the Quora dev pairs (README, "Quality").
DEFAULT_THRESHOLD = 0.84

# How similar pairs become clusters (core.mine.clustering); the first is the default: it
# measures best on the Quora dev collection (benchmarks/peers.py, README "Quality").
CLUSTER_MODES = ("kept", "connected", "community")
DEFAULT_MODE = CLUSTER_MODES[0]
