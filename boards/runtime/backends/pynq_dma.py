"""The accelerator on a Zynq board through PYNQ: Overlay from the .bit/.hwh, `pynq.allocate` buffers, the AXI
DMA's send (MM2S) and receive (S2MM) channels, and the accelerator's control registers (deploy.json "control").

Two bitstreams exist, with one data path (same DMA beats) and two control layouts (deploy.json
control.interface, boards.runtime.schema.control_interface):
- HLS (`bnnc bitstream`): the block's AXI-Lite registers, num_frames at control.num_frames_offset and ap_start
  at control.ap_ctrl_offset of IP ip.accel;
- RTL (`bnnc bitstream --rtl`): bnnc_top has no register block; num_frames comes from the AXI GPIO ip.ctrl
  (GPIO_DATA of channel 1 at control.num_frames_offset) and the design runs whenever input arrives.
pynq is imported here only, so nothing else in bnnc needs it. A design with weights in URAM (HLS only) first gets
its weight image (deploy.json "weights") through the weight-load mode when the backend opens. Per batch the call sequence is:
write num_frames -> recvchannel.transfer(out) -> sendchannel.transfer(in) -> [HLS: ap_start] -> wait for both
channels (polled against a deadline, so a wedged design raises AcceleratorTimeout instead of hanging).
"""
from __future__ import annotations

import re
import time

import numpy as np

from boards.runtime.errors import AcceleratorError, AcceleratorTimeout
from boards.runtime.schema import CONTROL_IPS, control_interface

AP_START = 0x1
AP_IDLE = 0x4          # ap_ctrl bit 2: the HLS block is idle (Vitis HLS s_axilite control register)
IP_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]*")     # block-design cell names (compiler.backends.blockdesign)


def import_pynq():
    try:
        import pynq
    except ImportError as e:
        raise AcceleratorError(f"the 'pynq' backend needs the pynq package, which is not importable here ({e}); "
                               "run on a PYNQ board image (pip install 'bnnc[pynq]'), or use backend='sim' or "
                               "'csim' off-board") from None
    return pynq


class PynqBackend:
    name = "pynq"

    def __init__(self, deployment, timeout_s: float = 5.0, pynq_module=None):
        self.dep = deployment
        self.timeout_s = float(timeout_s)
        if self.timeout_s <= 0:
            raise AcceleratorError(f"timeout must be positive, got {timeout_s}")
        self.pynq = pynq_module or import_pynq()
        bit, _ = deployment.bitstream()          # Overlay finds the .hwh of the same stem beside the .bit
        try:
            self.overlay = self.pynq.Overlay(str(bit))
        except Exception as e:                    # pynq raises many kinds (IOError, RuntimeError, ValueError)
            raise AcceleratorError(f"loading overlay {bit} failed: {type(e).__name__}: {e}") from None
        ip, ctl = deployment.meta["ip"], deployment.meta["control"]
        self.dma = self._ip(ip["dma"])
        interface = control_interface(deployment.meta)
        self.control = self._ip(ip[CONTROL_IPS[interface]])      # the cell holding num_frames
        self.num_frames_offset = int(ctl["num_frames_offset"])
        self.ap_ctrl_offset = int(ctl["ap_ctrl_offset"]) if interface == "s_axilite" else None
        self.in_frame, self.out_frame = deployment.frame_bytes("input"), deployment.frame_bytes("output")
        self.capacity = 0
        self.ibuf = self.obuf = None
        if deployment.weight_image is not None:
            self._load_weights(deployment.weight_image, deployment.meta["weights"])

    def _load_weights(self, image: bytes, w: dict) -> None:
        """Weights in URAM are empty after configuration (UltraScale+ URAM has no bitstream initialisation): stream
        the weight image through the accelerator's weight-load mode -- mode register = mode_load, the image over
        the input DMA channel, one ap_start -- wait until the block is idle again, then select run mode."""
        if self.ap_ctrl_offset is None:
            raise AcceleratorError(f"{self.dep.path}/deploy.json has weights in URAM but an RTL control layout; "
                                   "only the HLS top has the weight-load mode (compile with --weights-in bram for RTL)")
        limit = int(self.dep.meta["dma"]["max_transfer_bytes"])
        if len(image) > limit:
            raise AcceleratorError(f"the weight image ({len(image):,} bytes) exceeds the DMA transfer limit of "
                                   f"{limit:,} bytes")
        buf = self.pynq.allocate(shape=(len(image),), dtype=np.uint8)
        try:
            buf[:] = np.frombuffer(image, np.uint8)
            buf.flush()
            self.control.write(int(w["mode_offset"]), int(w["mode_load"]))
            self.dma.sendchannel.transfer(buf)
            self.control.write(self.ap_ctrl_offset, AP_START)
            deadline = time.perf_counter() + self.timeout_s
            while not (self.dma.sendchannel.idle and self.control.read(self.ap_ctrl_offset) & AP_IDLE):
                if time.perf_counter() > deadline:
                    raise AcceleratorTimeout(
                        f"loading the weight image ({len(image):,} bytes) into URAM did not finish after "
                        f"{self.timeout_s:g} s; the bitstream may not match {self.dep.path}/deploy.json")
            self.dma.sendchannel.wait()
            self.control.write(int(w["mode_offset"]), int(w["mode_run"]))
        finally:
            if hasattr(buf, "freebuffer"):
                buf.freebuffer()

    def _ip(self, name: str):
        if not isinstance(name, str) or not IP_NAME.fullmatch(name):   # no dunder/private attribute of the overlay
            raise AcceleratorError(f"deploy.json 'ip' names {name!r}, not an IP cell name (letters, digits, _; "
                                   "starting with a letter)")
        try:
            return getattr(self.overlay, name)
        except AttributeError:
            raise AcceleratorError(f"the overlay has no IP named {name!r} (deploy.json 'ip'); is the bitstream "
                                   f"from this deployment?") from None

    def _ensure_buffers(self, n: int) -> None:
        """Allocate contiguous buffers once and reuse them; grow only when a larger batch arrives."""
        if n <= self.capacity:
            return
        self._free()
        self.ibuf = self.pynq.allocate(shape=(n * self.in_frame,), dtype=np.uint8)
        self.obuf = self.pynq.allocate(shape=(n * self.out_frame,), dtype=np.uint8)
        self.capacity = n

    def run(self, inbuf: np.ndarray) -> tuple[np.ndarray, float]:
        n = len(inbuf)
        self._ensure_buffers(n)
        ib, ob = self.ibuf[: n * self.in_frame], self.obuf[: n * self.out_frame]
        ib[:] = np.asarray(inbuf, np.uint8).reshape(-1)
        ib.flush()
        t0 = time.perf_counter()
        self.control.write(self.num_frames_offset, n)
        self.dma.recvchannel.transfer(ob)
        self.dma.sendchannel.transfer(ib)
        if self.ap_ctrl_offset is not None:
            self.control.write(self.ap_ctrl_offset, AP_START)
        deadline = t0 + self.timeout_s
        self._wait(self.dma.sendchannel, "send (MM2S, input)", deadline, n)
        self._wait(self.dma.recvchannel, "receive (S2MM, output)", deadline, n)
        seconds = time.perf_counter() - t0
        ob.invalidate()
        return np.array(ob, dtype=np.uint8).reshape(n, self.out_frame), seconds

    def _wait(self, channel, what: str, deadline: float, n: int) -> None:
        """Busy-poll like pynq's own wait() (a batch can take microseconds), but against a deadline."""
        while not channel.idle:
            if time.perf_counter() > deadline:
                raise AcceleratorTimeout(
                    f"DMA {what} channel not done after {self.timeout_s:g} s for {n} frames "
                    f"({n * self.in_frame} bytes in, {n * self.out_frame} bytes expected out). The bitstream may not "
                    f"match {self.dep.path}/deploy.json, or the accelerator stalled; create a new Accelerator to "
                    "reload the overlay (or raise timeout_s for very large batches)")
        channel.wait()          # returns at once now; lets pynq finish its bookkeeping

    def _free(self) -> None:
        for buf in (self.ibuf, self.obuf):
            if buf is not None and hasattr(buf, "freebuffer"):
                buf.freebuffer()
        self.ibuf = self.obuf = None
        self.capacity = 0

    def close(self) -> None:
        self._free()
