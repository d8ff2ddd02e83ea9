"""Training wraps SentenceTransformerTrainer (issue 5)."""
