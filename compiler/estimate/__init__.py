"""Estimates before any tool runs: cost per layer, resources, latency, branch FIFOs, weight placement, folding."""
