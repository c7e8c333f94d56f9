"""Average-pool and depthwise models written with raw Brevitas (conv, TruncAvgPool2d, AvgPool2d, depthwise,
global pool; a MobileNet-v1 in miniature), shared by the pooling tests and the FINN builds."""
import brevitas.nn as qnn
import torch
from torch import nn

from bnn.quant import act_quant, weight_quant
from brevitas_models import quant_act, randomize_bn


def qid(bits: int):
    return qnn.QuantIdentity(act_quant=act_quant(bits), return_quant_tensor=True)


def pools_model(seed=0):
    """conv -> TruncAvgPool2d 2x2 -> AvgPool2d 2x2 -> depthwise 3x3 (padded) -> global average pool -> FC."""
    torch.manual_seed(seed)
    m = nn.Sequential(
        quant_act(4), qnn.QuantConv2d(2, 6, 3, bias=False, weight_quant=weight_quant(4)), nn.BatchNorm2d(6),
        qid(4), qnn.TruncAvgPool2d(2, stride=2, bit_width=4), quant_act(4),
        nn.AvgPool2d(2), quant_act(4),
        qnn.QuantConv2d(6, 6, 3, groups=6, padding=1, bias=False, weight_quant=weight_quant(4)), nn.BatchNorm2d(6),
        quant_act(4), nn.AdaptiveAvgPool2d(1), quant_act(4), nn.Flatten(),
        qnn.QuantLinear(6, 5, bias=False, weight_quant=weight_quant(4)))
    return randomize_bn(m, seed)


def mobilenet_block(c_in, c_out, stride):
    return [qnn.QuantConv2d(c_in, c_in, 3, stride=stride, padding=1, groups=c_in, bias=False,
                            weight_quant=weight_quant(4)), nn.BatchNorm2d(c_in), quant_act(4),
            qnn.QuantConv2d(c_in, c_out, 1, bias=False, weight_quant=weight_quant(4)), nn.BatchNorm2d(c_out),
            quant_act(4)]


def mobilenet_v1_style(seed=0):
    """MobileNet-v1 in miniature, 4-bit: stem conv, a padded overlapping 3x3 average pool, two
    depthwise-separable blocks (one strided), GAP, FC."""
    torch.manual_seed(seed)
    m = nn.Sequential(quant_act(8), qnn.QuantConv2d(3, 8, 3, stride=2, padding=1, bias=False,
                                                    weight_quant=weight_quant(4)), nn.BatchNorm2d(8), quant_act(4),
                      nn.AvgPool2d(3, stride=1, padding=1), quant_act(4),         # overlapping, zero-padded
                      *mobilenet_block(8, 16, 1), *mobilenet_block(16, 16, 2),
                      nn.AdaptiveAvgPool2d(1), quant_act(4), nn.Flatten(),
                      qnn.QuantLinear(16, 10, bias=False, weight_quant=weight_quant(4)))
    return randomize_bn(m, seed)
