"""What the pool and depthwise emitters share: threshold ROMs of per-channel activations, accumulator widths, and
the bnnc_swg -> bnnc_winacc pair that computes a window reduction over overlapping windows (FINN's
ConvolutionInputGenerator + Pool / VVAU)."""
from __future__ import annotations

from compiler.backends.rtl.common import PARAMS_DIR, hex_rom, kind_code, param_list, stream_wrapper
from compiler.ir.datatypes import element_bits as bits
from compiler.ir.graph import IRError, Layer
from compiler.kernels.activation import threshold_table

WINACC_OP = {"max": 0, "sum": 1, "mac": 2}      # bnnc_winacc OP


def activation_params(layer: Layer, channels: int, name: str, where: str) -> tuple[dict[str, object], dict[str, str]]:
    """bnnc_act parameters of a per-channel activation after a sum (NOACT when the layer outputs the sum), and
    the threshold ROM file: word cf packs thr[cf*PE + p][t] at field p*NT + t."""
    a = layer.attrs
    ob = bits(layer.out_dtype)
    tfile = f"{PARAMS_DIR}/{name}_thresholds.hex"
    params: dict[str, object] = {"OB": ob, "NT": 1, "TB": 2, "NOACT": 1, "OUT_BIAS": 0, "OUT_BIPOLAR": 0,
                                 "TFILE": tfile}
    if a["noact"]:
        return params, {}
    if layer.out_dtype != "BIPOLAR" and ob > 32:
        raise IRError(f"{where}: a thresholded output of {ob} bits is not supported by the RTL library (<= 32)")
    tb, t = threshold_table(layer, channels)                     # (PE, C/PE, T)
    nt = t.shape[2]
    tw = t.transpose(1, 0, 2).reshape(channels // layer.pe, layer.pe * nt)
    params.update(NT=nt, TB=tb, NOACT=0, OUT_BIAS=int(a.get("out_bias", 0)),
                  OUT_BIPOLAR=int(layer.out_dtype == "BIPOLAR"))
    return params, {tfile: hex_rom(tw, f"INT{tb}", f"{where} thresholds")}


def swg_params(layer: Layer) -> dict[str, object]:
    """bnnc_swg parameters of a pool's window generator: PE channels per word, codes unchanged, zero padding
    where the pool has a `pad` (AvgPool with count_include_pad: pixels outside the map count as 0)."""
    a = layer.attrs
    (h, w), (kh, kw), (sh, sw), (oh, ow) = a["ifm_dim"], a["kernel"], a["stride"], a["ofm_dim"]
    pad = a.get("pad", (0, 0, 0, 0))
    b, kind = bits(layer.in_dtype), kind_code(layer.in_dtype)
    if any(pad) and layer.in_dtype == "BIPOLAR":
        raise IRError(f"layer {layer.name!r} ({layer.kind}): zero padding of a BIPOLAR stream has no code "
                      "(0 is not -1 or +1); the RTL library cannot pad it")
    return {"H": h, "W": w, "C": a["channels"], "KH": kh, "KW": kw, "SH": sh, "SW": sw, "PAD_TOP": pad[0],
            "PAD_LEFT": pad[1],
            "OH": oh, "OW": ow, "SIMD": layer.pe, "IB": b, "IN_KIND": kind, "OB": b, "OUT_KIND": kind, "PAD_CODE": 0}


def window_chain(module: str, swg: dict[str, object], acc: dict[str, object], in_bits: int, out_bits: int,
                 comment: str) -> str:
    """Wrapper module `module`: bnnc_swg (`swg`) streaming its windows into bnnc_winacc (`acc`)."""
    mid = in_bits                                   # the generator keeps the element codes and the word size
    return stream_wrapper(module, in_bits, out_bits, comment, f"""    wire [{mid - 1}:0] w_data;
    wire w_valid, w_ready;
    bnnc_swg #(
{param_list(swg)}
    ) u_swg (
        .clk(clk), .rst(rst),
        .in_data(in_data), .in_valid(in_valid), .in_ready(in_ready),
        .out_data(w_data), .out_valid(w_valid), .out_ready(w_ready)
    );
    bnnc_winacc #(
{param_list(acc)}
    ) u_acc (
        .clk(clk), .rst(rst),
        .in_data(w_data), .in_valid(w_valid), .in_ready(w_ready),
        .out_data(out_data), .out_valid(out_valid), .out_ready(out_ready)
    );
""")
