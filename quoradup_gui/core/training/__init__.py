"""Training wraps SentenceTransformerTrainer (the sentence-transformers Quora recipe) (issue 5).

data.py       pairs from a file, review decisions or a hub dataset; split by question; loss datasets
losses.py     the recipe's losses, their one-line explanations, the default for the data
callbacks.py  held-out evaluator and the TrainerCallback that reports to a JobContext
config.py     TrainingConfig (JSON the Train tab saves) and TrainingResult
run.py        run_training(config, source, ctx) -> TrainingResult

Importing any of these is cheap: torch, transformers, sentence-transformers and datasets are
imported inside the functions that need them.
"""
