"""Defaults shared by the GUI and the CLI, importable at start-up without numpy or pandas."""

# Best mining F1 of the default model on the Quora dev pairs (README, "Quality").
DEFAULT_THRESHOLD = 0.84
