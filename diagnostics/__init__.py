"""What bnnc tells its users: the error hierarchy and progress reporting (a leaf: imports nothing of bnnc)."""
