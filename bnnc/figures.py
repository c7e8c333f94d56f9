"""Every speed figure the CLI prints says what produced it: a measurement on the board, the host's simulation
of the design (NumPy simulator or g++ C-sim, which says nothing about the hardware's speed), the RTL's
cycle-accurate simulation (rtlsim: the hardware's cycles, at the deployment's clock), or the cost model's
estimate of the hardware (compiler.estimate.cost, at the build's folding and clock)."""
from __future__ import annotations

SOURCES = {
    "pynq": "measured on the board's accelerator (DMA start to last word back)",
    "sim": "host simulation speed (NumPy simulator on this machine, not the accelerator's speed)",
    "csim": "host C-simulation speed (g++ build of the HLS code on this machine, not the accelerator's speed)",
    "rtlsim": ("accelerator throughput in simulated clock cycles at the deployment's clock (Verilator "
               "cycle-accurate simulation of the generated RTL; not a board measurement)"),
}


def speed_line(backend: str, fps: float) -> str:
    """`fps` labelled with the backend that produced it."""
    return f"{fps:,.0f} frames/s {SOURCES[backend]}"


def estimate_line(graph, board: str | None, clock_mhz: float | None) -> str | None:
    """The cost model's hardware estimate for `graph` at its folding on `board`/`clock_mhz`, as a labelled line;
    None when it cannot be computed here (e.g. the board catalog's yaml is absent on a board)."""
    try:
        from boards.catalog import get_board
        from compiler.estimate.folding import estimate_for

        brd = get_board(board) if board else None
        cost = estimate_for(graph, brd, clock_mhz)
    except Exception:   # an optional figure: never fail a run over it
        return None
    where = f"{brd.name} at {cost.clock_mhz:g} MHz" if brd else f"{cost.clock_mhz:g} MHz"
    return (f"{cost.fps:,.0f} frames/s estimated hardware throughput (cost model, {where}, II "
            f"{cost.ii_cycles:,} cycles; not measured)")
