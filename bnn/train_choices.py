"""Names the trainer accepts, importable without torch (the CLI offers them as choices before loading torch)."""
OPTIMIZERS = ("adam", "adamw", "sgd")
SCHEDULES = ("cosine", "step", "none")
