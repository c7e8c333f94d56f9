"""Numeric kernels the kinds' golden models share: multi-threshold activation, exact integer GEMM, threads."""
