"""The Vivado block design around a bnnc accelerator, shared by the HLS path (compiler.backends.hls.tcl: the Vitis HLS
IP) and the RTL path (compiler.backends.rtl.vivado: the generated Verilog as a module reference).

Both build the same system, so it is written once here: the board's processing system (processing_system7 on
Zynq-7000, zynq_ultra_ps_e on Zynq UltraScale+, with the shell's ports of boards/boards.yaml), an AXI DMA in
simple mode streaming words into and out of the accelerator, the AXI interconnects for control and data on the
fabric clock, the address map, and implementation to a bitstream + hwh under one stem. A path supplies only
what differs: how its sources enter the project, the accelerator cell, its stream pins and its control slaves.
"""
from __future__ import annotations

import re

from boards.catalog import Board
from diagnostics.errors import CompileError
from compiler.ir.names import tcl_quote

DMA_CELL, ACCEL_CELL = "dma", "accel"   # block-design cell names = the PYNQ overlay's attribute names
DMA_LENGTH_WIDTH = 26                    # AXI DMA buffer-length register bits: one transfer < 64 MiB
BD_NAME = "bnnc"                         # the block design (bnnc.bd, bnnc_wrapper, bnnc.hwh)


def ps_block(board: Board, clock_mhz: float) -> str:
    """Tcl creating the board's processing system cell `ps` with the shell's ports and fabric clock."""
    sh = board.shell
    if board.ps == "Zynq-7000":
        hp = re.fullmatch(r"S_AXI_HP(\d)", sh.data_port)
        gp = re.fullmatch(r"M_AXI_GP(\d)", sh.control_port)
        if not hp or not gp:
            raise CompileError(f"board {board.name}: unsupported Zynq-7000 shell ports {sh.data_port}/{sh.control_port}")
        return f"""set ps [create_bd_cell -type ip -vlnv [bnnc_latest_ip processing_system7] ps]
apply_bd_automation -rule xilinx.com:bd_rule:processing_system7 -config {{make_external "FIXED_IO, DDR" apply_board_preset "0" Master "Disable" Slave "Disable"}} $ps
set_property -dict [list CONFIG.PCW_USE_M_AXI_GP{gp.group(1)} {{1}} CONFIG.PCW_USE_S_AXI_HP{hp.group(1)} {{1}} \\
    CONFIG.PCW_FPGA0_PERIPHERAL_FREQMHZ {{{clock_mhz:g}}}] $ps"""
    if board.ps == "Zynq UltraScale+":
        hp = re.fullmatch(r"S_AXI_HP(\d)_FPD", sh.data_port)
        hpm = re.fullmatch(r"M_AXI_HPM(\d)_FPD", sh.control_port)
        if not hp or not hpm:
            raise CompileError(f"board {board.name}: unsupported Zynq UltraScale+ shell ports "
                               f"{sh.data_port}/{sh.control_port}")
        masters = " ".join(f"CONFIG.PSU__USE__M_AXI_GP{n} {{{int(n == int(hpm.group(1)))}}}" for n in range(2))
        return f"""set ps [create_bd_cell -type ip -vlnv [bnnc_latest_ip zynq_ultra_ps_e] ps]
apply_bd_automation -rule xilinx.com:bd_rule:zynq_ultra_ps_e -config {{apply_board_preset "0"}} $ps
set_property -dict [list {masters} CONFIG.PSU__USE__M_AXI_GP2 {{0}} \\
    CONFIG.PSU__USE__S_AXI_GP{int(hp.group(1)) + 2} {{1}} CONFIG.PSU__CRL_APB__PL0_REF_CTRL__FREQMHZ {{{clock_mhz:g}}}] $ps"""
    raise CompileError(f"board {board.name}: no block design for processing system {board.ps!r}; "
                       "supported: Zynq-7000, Zynq UltraScale+")


def dma_block(in_bits: int, out_bits: int) -> str:
    """Tcl creating the AXI DMA cell: MM2S words of `in_bits` into the accelerator, S2MM words of `out_bits` out."""
    return f"""set dma [create_bd_cell -type ip -vlnv [bnnc_latest_ip axi_dma] {DMA_CELL}]
set_property -dict [list CONFIG.c_include_sg {{0}} CONFIG.c_sg_length_width {{{DMA_LENGTH_WIDTH}}} \\
    CONFIG.c_m_axis_mm2s_tdata_width {{{in_bits}}} CONFIG.c_s_axis_s2mm_tdata_width {{{out_bits}}} \\
    CONFIG.c_m_axi_mm2s_data_width {{{max(32, in_bits)}}} CONFIG.c_m_axi_s2mm_data_width {{{max(32, out_bits)}}} \\
    CONFIG.c_mm2s_burst_size {{16}} CONFIG.c_s2mm_burst_size {{16}}] $dma"""


def interconnect_tcl(board: Board, control: list[str]) -> str:
    """Tcl connecting, on the fabric clock, the PS control master to the DMA's registers and to the `control`
    slaves (cell/interface), and the DMA's memory masters to the PS data port; Vivado's automation adds the
    interconnects and a proc_sys_reset."""
    sh = board.shell
    return f"""set clk /ps/{sh.clock}
foreach pin [list {" ".join([f"{DMA_CELL}/S_AXI_LITE", *control])}] {{
    apply_bd_automation -rule xilinx.com:bd_rule:axi4 \\
        -config [list Master /ps/{sh.control_port} Clk_master $clk Clk_slave $clk Clk_xbar $clk] [get_bd_intf_pins $pin]
}}
foreach pin [list {DMA_CELL}/M_AXI_MM2S {DMA_CELL}/M_AXI_S2MM] {{
    apply_bd_automation -rule xilinx.com:bd_rule:axi4 \\
        -config [list Slave /ps/{sh.data_port} Clk_master $clk Clk_slave $clk Clk_xbar $clk] [get_bd_intf_pins $pin]
}}"""


def clock_reset_tcl(cell: str, clk: str = "clk", rst: str = "rst") -> str:
    """Tcl driving a cell without an AXI-Lite slave (which the automation would clock) from the fabric clock and
    the active-high reset of the proc_sys_reset the automation created; after interconnect_tcl."""
    return f"""connect_bd_net [get_bd_pins $clk] [get_bd_pins {cell}/{clk}]
set rst [lindex [get_bd_cells -filter {{VLNV =~ "*proc_sys_reset*"}}] 0]
if {{$rst eq ""}} {{ error "bnnc: the AXI automation created no proc_sys_reset for the accelerator's reset" }}
connect_bd_net [get_bd_pins $rst/peripheral_reset] [get_bd_pins {cell}/{rst}]"""


def implementation_tcl(project: str, file_stem: str) -> str:
    """The end of every Vivado script: addresses, wrapper, implementation to bitstream, and the .bit/.hwh copied
    to output/ under one stem. `project` is the Vivado project name (its .gen/.srcs/.runs)."""
    return f"""assign_bd_address
validate_bd_design
save_bd_design

make_wrapper -files [get_files {BD_NAME}.bd] -top
set wrapper [lindex [glob -nocomplain \\
    [file join $proj_dir {project}.gen sources_1 bd {BD_NAME} hdl {BD_NAME}_wrapper.v] \\
    [file join $proj_dir {project}.srcs sources_1 bd {BD_NAME} hdl {BD_NAME}_wrapper.v]] 0]
if {{$wrapper eq ""}} {{ error "bnnc: make_wrapper did not produce {BD_NAME}_wrapper.v" }}
add_files -norecurse $wrapper
set_property top {BD_NAME}_wrapper [current_fileset]
update_compile_order -fileset sources_1

launch_runs impl_1 -to_step write_bitstream -jobs 2
wait_on_run impl_1
if {{[get_property PROGRESS [get_runs impl_1]] ne "100%"}} {{
    error "bnnc: implementation failed; see [file join $proj_dir {project}.runs impl_1 runme.log]"
}}

file mkdir $out_dir
set bit [glob -nocomplain [file join $proj_dir {project}.runs impl_1 {BD_NAME}_wrapper.bit]]
set hwh [lindex [glob -nocomplain \\
    [file join $proj_dir {project}.gen sources_1 bd {BD_NAME} hw_handoff {BD_NAME}.hwh] \\
    [file join $proj_dir {project}.srcs sources_1 bd {BD_NAME} hw_handoff {BD_NAME}.hwh]] 0]
if {{$bit eq "" || $hwh eq ""}} {{ error "bnnc: bitstream or hardware handoff (.hwh) missing after implementation" }}
file copy -force $bit [file join $out_dir {file_stem}.bit]
file copy -force $hwh [file join $out_dir {file_stem}.hwh]
puts "bnnc: wrote [file join $out_dir {file_stem}.bit] and [file join $out_dir {file_stem}.hwh]"
"""


def vivado_script(board: Board, clock_mhz: float, *, project: str, file_stem: str, comment: str, setup: str,
                  sources: str, stream_bits: tuple[int, int], accel: str, stream_pins: tuple[str, str],
                  control: dict[str, str], paths: str = "", extra: str = "", wiring: str = "") -> str:
    """The whole Vivado script (run in the generated folder; writes output/<file_stem>.bit/.hwh).

    comment: the script's leading `#` lines; paths: more `set` lines (after $here and $part); setup: Tcl
    checking the script's inputs (after $proj_dir and $out_dir are set); sources: Tcl adding them to the project;
    stream_bits: the accelerator's (input, output) AXI-stream widths; accel: Tcl creating cell ACCEL_CELL, whose
    stream_pins (input, output) the DMA feeds and drains; control: its AXI-Lite slaves on the PS control port,
    {cell/interface: what it controls}; extra: more cells, after the streams; wiring: more connections, after
    the interconnect (e.g. clock_reset_tcl)."""
    in_bits, out_bits = stream_bits
    return f"""{comment}
set here [file dirname [file normalize [info script]]]
set part {tcl_quote(board.part)}
{paths + chr(10) if paths else ""}set proj_dir [file join $here vivado]
set out_dir [file join $here output]
{setup}

proc bnnc_latest_ip {{name}} {{
    set defs [lsort -dictionary [get_ipdefs -all "xilinx.com:ip:${{name}}:*"]]
    if {{[llength $defs] == 0}} {{ error "bnnc: IP $name not found in this Vivado installation" }}
    return [lindex $defs end]
}}

create_project -force {project} $proj_dir -part $part
{sources}
create_bd_design {BD_NAME}

# processing system with the shell's ports enabled and the fabric clock
{ps_block(board, clock_mhz)}

# AXI DMA (simple mode): MM2S feeds the accelerator's input words, S2MM stores its output words
{dma_block(in_bits, out_bits)}

{accel}
connect_bd_intf_net [get_bd_intf_pins {DMA_CELL}/M_AXIS_MM2S] [get_bd_intf_pins {ACCEL_CELL}/{stream_pins[0]}]
connect_bd_intf_net [get_bd_intf_pins {ACCEL_CELL}/{stream_pins[1]}] [get_bd_intf_pins {DMA_CELL}/S_AXIS_S2MM]
{extra}
# AXI-Lite control ({", ".join(["DMA registers", *control.values()])}) and DMA data path, all on {board.shell.clock}
{interconnect_tcl(board, list(control))}
{wiring}{implementation_tcl(project, file_stem)}"""
