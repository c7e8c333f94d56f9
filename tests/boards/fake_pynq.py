"""A stand-in for the pynq driver objects the 'pynq' backend touches (Overlay, allocate, PynqBuffer, the AXI
DMA channels, the HLS block's AXI-Lite registers or the RTL top's AXI GPIO), with a memory model strict enough to
catch mistakes:

- the device reads what was *flushed* to DRAM, not the CPU's view of a buffer, and writes results to DRAM,
  visible to the CPU only after `invalidate()` (a missing flush / invalidate gives stale bytes);
- HLS bitstream (control="s_axilite"): cell `accel`; a run starts only on ap_start with num_frames set and both
  channels armed;
- RTL bitstream (control="axi_gpio"): cell `accel_ctrl` (GPIO_DATA at 0x0 is num_frames), no `accel` cell; the
  design runs as soon as both channels are armed, and num_frames must have been written before input flows;
- the device's `compute` (bytes in -> bytes out) stands for the bitstream; if it produces a different byte count
  than the receive buffer expects, the receive channel never goes idle, as a real design would hang.
Every call is appended to `log`, so tests can check the exact call sequence and bytes.
"""
from __future__ import annotations

import itertools
from pathlib import Path
from types import SimpleNamespace

import numpy as np

DRAM: dict[int, np.ndarray] = {}
_addresses = itertools.count(0x1000_0000, 0x0100_0000)


class FakeBuffer(np.ndarray):
    def __array_finalize__(self, obj):
        self.physical_address = getattr(obj, "physical_address", None)
        self.log = getattr(obj, "log", None)

    def flush(self):
        self.log.append(("flush", self.physical_address, self.nbytes))
        DRAM[self.physical_address][: self.nbytes] = self.view(np.ndarray).reshape(-1).view(np.uint8)

    def invalidate(self):
        self.log.append(("invalidate", self.physical_address, self.nbytes))
        self.view(np.ndarray).reshape(-1).view(np.uint8)[:] = DRAM[self.physical_address][: self.nbytes]

    def freebuffer(self):
        self.log.append(("free", self.physical_address))


class FakeChannel:
    def __init__(self, name: str, log: list):
        self.name, self.log = name, log
        self.idle = True
        self.armed = None          # (address, nbytes) of the current transfer

    def transfer(self, array):
        if not self.idle:
            raise RuntimeError(f"{self.name}: DMA channel not idle")
        self.log.append((f"{self.name}.transfer", array.physical_address, array.nbytes))
        self.armed = (array.physical_address, array.nbytes)
        self.idle = False
        self.on_arm()

    def on_arm(self):
        pass

    def wait(self):
        self.log.append((f"{self.name}.wait",))
        if not self.idle:
            raise AssertionError(f"{self.name}.wait() called while busy: the runtime must poll idle with a deadline")


class FakeAccel:
    def __init__(self, device: "FakeDevice"):
        self.device = device
        self.regs = {}

    def write(self, offset: int, value: int):
        self.device.log.append(("accel.write", offset, value))
        self.regs[offset] = value
        if offset == 0x00 and value & 1:
            if self.regs.get(self.device.mode_offset, 0) == self.device.mode_load:
                self.device.load()
            else:
                self.device.start(self.regs.get(0x10))
            self.regs[0x00] = 0x4 | 0x2        # ap_idle | ap_done once the (instant) device has finished

    def read(self, offset: int) -> int:
        return self.regs.get(offset, 0)


class FakeGpio:
    """AXI GPIO in front of the RTL top: channel 1 data (0x0) drives num_frames; the tri-state register (0x4)
    is absent from an all-outputs GPIO."""

    def __init__(self, device: "FakeDevice"):
        self.device = device
        self.data = None

    def write(self, offset: int, value: int):
        self.device.log.append(("accel_ctrl.write", offset, value))
        if offset != 0x0:
            raise AssertionError(f"AXI GPIO write at {offset:#x}: only GPIO_DATA (0x0) drives num_frames")
        self.data = value

    def read(self, offset: int) -> int:
        return self.data or 0


class FakeDevice:
    """compute(in_bytes uint8 (nbytes,), num_frames) -> out bytes uint8; None: hangs."""

    #: the weight-load mode (designs with URAM weights): mode register offset and value (compiler.backends.hls.top)
    mode_offset, mode_load = 0x18, 1

    def __init__(self, compute, log: list):
        self.compute, self.log = compute, log
        self.send, self.recv = FakeChannel("sendchannel", log), FakeChannel("recvchannel", log)
        self.runs = []
        self.loads = []        # weight images received in load mode (bytes)

    def load(self):
        """Load mode: the device consumes the input stream into its weight memories; nothing is written back."""
        if self.send.armed is None:
            raise AssertionError("ap_start in weight-load mode before the send channel was armed")
        ia, inb = self.send.armed
        self.loads.append(DRAM[ia][:inb].tobytes())
        self.send.idle = True
        self.send.armed = None
    def start(self, num_frames):
        if num_frames is None or self.send.armed is None or self.recv.armed is None:
            raise AssertionError("ap_start before num_frames was written and both DMA channels were armed")
        (ia, inb), (oa, onb) = self.send.armed, self.recv.armed
        data = DRAM[ia][:inb].copy()
        out = self.compute(data, num_frames) if self.compute else None
        self.runs.append((num_frames, data))
        self.send.idle = True          # the device consumed the input stream
        if out is None or out.size != onb:
            return                     # TLAST never comes at the expected length: S2MM stays busy
        DRAM[oa][:onb] = out
        self.recv.idle = True


def make_pynq(compute, log: list | None = None, control: str = "s_axilite") -> SimpleNamespace:
    """A module-like object with Overlay and allocate, wired to one FakeDevice with the control layout of an HLS
    ("s_axilite") or RTL ("axi_gpio") bitstream."""
    log = [] if log is None else log
    device = FakeDevice(compute, log)
    gpio = FakeGpio(device)
    if control == "axi_gpio":
        def armed():
            if device.send.armed is not None and device.send.armed is not device.started:
                if gpio.data is None:
                    raise AssertionError("input flowed into the RTL top before num_frames was written")
                if device.recv.armed is not None and not device.recv.idle:
                    device.started = device.send.armed
                    device.start(gpio.data)
        device.started = None
        device.send.on_arm = device.recv.on_arm = armed

    def allocate(shape, dtype=np.uint8):
        addr = next(_addresses)
        buf = np.zeros(shape, dtype).view(FakeBuffer)
        buf.physical_address, buf.log = addr, log
        DRAM[addr] = np.zeros(buf.nbytes, np.uint8)
        log.append(("allocate", tuple(np.atleast_1d(shape)), np.dtype(dtype).name))
        return buf

    class Overlay:
        def __init__(self, bitfile: str):
            bit = Path(bitfile)
            if bit.suffix != ".bit" or not bit.is_file() or not bit.with_suffix(".hwh").is_file():
                raise IOError(f"{bitfile}: bitstream or its .hwh not found")
            log.append(("Overlay", bit.name))
            self.dma = SimpleNamespace(sendchannel=device.send, recvchannel=device.recv)
            if control == "axi_gpio":
                self.accel_ctrl = gpio
            else:
                self.accel = FakeAccel(device)

    return SimpleNamespace(Overlay=Overlay, allocate=allocate, device=device, log=log)
