"""FINN backend: the IR as FINN fpgadataflow nodes, FINN's folding config, host ops, FINN's estimate beside ours."""
