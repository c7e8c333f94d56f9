"""The `bnnc` command line: one click group, one module per command."""
import os

# torch's OpenMP threads spin-wait by default, which makes them ~15x slower on a shared or busy CPU.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import click  # noqa: E402

from bnnc.bitstream import bitstream_cmd  # noqa: E402
from bnnc.boards import boards_cmd  # noqa: E402
from bnnc.compile import compile_cmd  # noqa: E402
from bnnc.compress import compress_cmd  # noqa: E402
from bnnc.csim import csim_cmd  # noqa: E402
from bnnc.demo import demo_cmd  # noqa: E402
from bnnc.deploy import deploy_cmd  # noqa: E402
from bnnc.explore import explore_cmd  # noqa: E402
from bnnc.export import export_cmd  # noqa: E402
from bnnc.hls import hls_cmd  # noqa: E402
from bnnc.rtlsim import rtlsim_cmd  # noqa: E402
from bnnc.run import run_cmd  # noqa: E402
from bnnc.synth import synth_cmd  # noqa: E402
from bnnc.train import train_cmd  # noqa: E402


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("-v", "--verbose", is_flag=True, default=False,
              help="progress bars even when stderr is not a terminal, and the libraries' own messages "
                   "(torch/torchvision/ONNX export warnings)")
@click.pass_context
def main(ctx: click.Context, verbose: bool) -> None:
    """bnnc: binarized networks from PyTorch to FPGA dataflow accelerators.

    Progress of long steps (lowering, verification, folding, g++, C simulation) is shown on stderr when it is
    a terminal."""
    from diagnostics import progress
    ctx.obj = {"verbose": verbose}
    ctx.with_resource(progress.reporting(verbose=verbose))


for _cmd in (train_cmd, export_cmd, compile_cmd, boards_cmd, demo_cmd):
    main.add_command(_cmd)

for _cmd in (hls_cmd, csim_cmd, bitstream_cmd, deploy_cmd):   # HLS backend
    main.add_command(_cmd)

for _cmd in (rtlsim_cmd, synth_cmd):   # RTL backend (Verilator, Yosys)
    main.add_command(_cmd)

main.add_command(run_cmd)   # board runtime

main.add_command(compress_cmd)
main.add_command(explore_cmd)   # design-space sweep (scaleout: local or Ray)
