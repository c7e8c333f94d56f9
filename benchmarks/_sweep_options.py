"""`--cluster` / `--workers` of the benchmarks whose rows run as scaleout tasks (fmnist_accuracy, compression_fmnist),
and the executor they give (scaleout.sweep_executor: in this process unless a cluster or --workers is given)."""
from __future__ import annotations

import argparse


def add_executor_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--cluster", default=None, metavar="ADDRESS",
                        help="run the rows as Ray tasks on this cluster (HOST:PORT or 'auto'; default: $RAY_ADDRESS "
                             "if set, else this machine; 'local' forces this machine); needs bnnc[ray]")
    parser.add_argument("--workers", type=int, default=None,
                        help="rows at once: local processes (default 1: in this process, as before), or Ray tasks "
                             "in flight (default: as the cluster's resources allow)")


def executor_for_args(args: argparse.Namespace):
    """The scaleout executor of --cluster/--workers; a cluster that cannot be reached ends the run with its error."""
    from scaleout import ExecutorError, sweep_executor

    try:
        return sweep_executor(args.cluster, args.workers)
    except ExecutorError as e:
        raise SystemExit(f"error: {e}") from None
