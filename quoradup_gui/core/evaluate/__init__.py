"""Stage 4, evaluate: pair and mining metrics (the sentence-transformers evaluators' definitions)
and scoring a model on a labelled pair file (pair_scoring)."""
