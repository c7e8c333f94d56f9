import click
@click.group()
def main() -> None:
    """bnnc: binarized networks from PyTorch to FPGA dataflow."""
