"""Re-quantise an int8 TFLite file's weights to 4 bits (per channel, symmetric), as MCUNet's
int4 models store them, keeping int8 activations.

After 4-bit QAT the converter still writes int8 weights, on a 15-level grid: each channel's
float weights are k * s with k in [-7, 7], written as round(k * 127 / 7) with scale
s * 7 / 127. This module maps them back: k = round(q * 7 / max|q|) per output channel,
filter scale * max|q| / 7, and the int32 bias re-expressed at the new bias scale
(input scale * filter scale). On a QAT grid that recovers k exactly; on an ordinary int8
file it is a 4-bit post-training quantisation (values move). Either way the result is a
valid int8 TFLite file whose CONV_2D / DEPTHWISE_CONV_2D / FULLY_CONNECTED weights all lie
in [-7, 7]: stock TFLite Micro runs it unchanged, and ``tinyengine_gen --pack_int4`` stores
those weights two per byte with outputs identical to TFLM's on the same file.
"""

from __future__ import annotations

import flatbuffers
import numpy as np

from tinyengine_gen.frontend.schema import BUILTIN_OPERATOR_NAMES, schema

__all__ = ["requantize_weights_int4", "INT4_LEVEL"]

#: largest magnitude of a symmetric (narrow-range) 4-bit weight, as tfmot's 4-bit QAT uses
INT4_LEVEL = 7
#: operator -> the filter axis that holds its output channels
_CHANNEL_AXIS = {"CONV_2D": 0, "DEPTHWISE_CONV_2D": 3, "FULLY_CONNECTED": 0}


def requantize_weights_int4(model: bytes) -> bytes:
    """``model`` with every conv / depthwise / fully-connected filter re-quantised to 4 bits."""
    root = schema.ModelT.InitFromObj(schema.Model.GetRootAs(model, 0))
    for subgraph in root.subgraphs:
        done: set[int] = set()
        for op in subgraph.operators:
            name = BUILTIN_OPERATOR_NAMES.get(_builtin_code(root.operatorCodes[op.opcodeIndex]))
            inputs = list(op.inputs)
            if name not in _CHANNEL_AXIS or len(inputs) < 2 or inputs[1] < 0 or inputs[1] in done:
                continue
            bias = inputs[2] if len(inputs) > 2 and inputs[2] >= 0 else None
            if _requantize_layer(root, subgraph, inputs[1], bias, _CHANNEL_AXIS[name]):
                done.add(inputs[1])
    builder = flatbuffers.Builder(len(model) + 1024)
    builder.Finish(root.Pack(builder), file_identifier=b"TFL3")
    return bytes(builder.Output())


def _builtin_code(code) -> int:
    return max(int(code.builtinCode or 0), int(code.deprecatedBuiltinCode or 0))


def _requantize_layer(root, subgraph, filter_index: int, bias_index: int | None, axis: int) -> bool:
    tensor = subgraph.tensors[filter_index]
    buffer = root.buffers[tensor.buffer]
    quant = tensor.quantization
    if tensor.type != schema.TensorType.INT8 or buffer.data is None or quant is None or quant.scale is None:
        return False
    if quant.zeroPoint is not None and any(int(z) != 0 for z in quant.zeroPoint):
        return False  # asymmetric weights: left as they are
    shape = tuple(int(d) for d in tensor.shape)
    values = np.asarray(buffer.data, dtype=np.uint8).view(np.int8).reshape(shape).astype(np.int64)
    scales = np.asarray(quant.scale, dtype=np.float64)
    per_channel = scales.size > 1
    moved = np.moveaxis(values, axis, 0).reshape(shape[axis], -1) if per_channel else values.reshape(1, -1)
    peak = np.maximum(np.abs(moved).max(axis=1), 1)
    levels = np.clip(np.round(moved * INT4_LEVEL / peak[:, None]), -INT4_LEVEL, INT4_LEVEL).astype(np.int8)
    new_scales = (scales * peak / INT4_LEVEL).astype(np.float32)
    if per_channel:
        rest = [shape[i] for i in range(len(shape)) if i != axis]
        levels = np.moveaxis(levels.reshape(shape[axis], *rest), 0, axis)
    buffer.data = np.ascontiguousarray(levels.reshape(shape)).view(np.uint8).reshape(-1)
    quant.scale = [float(s) for s in new_scales]
    if bias_index is not None:
        _rescale_bias(root, subgraph.tensors[bias_index], scales, new_scales.astype(np.float64))
    return True


def _rescale_bias(root, tensor, old_scales: np.ndarray, new_scales: np.ndarray) -> None:
    """int32 bias at scale input * filter scale: the same real value at the new filter scale."""
    buffer = root.buffers[tensor.buffer]
    if tensor.type != schema.TensorType.INT32 or buffer.data is None or tensor.quantization is None:
        return
    bias = np.asarray(buffer.data, dtype=np.uint8).view("<i4").astype(np.float64)
    ratio = old_scales / new_scales
    rescaled = np.clip(np.round(bias * ratio), -(2**31), 2**31 - 1).astype("<i4")
    buffer.data = rescaled.view(np.uint8)
    if tensor.quantization.scale is not None:
        bias_scales = np.asarray(tensor.quantization.scale, dtype=np.float64) / ratio
        tensor.quantization.scale = [float(np.float32(s)) for s in bias_scales]


def main(argv: list[str] | None = None) -> int:
    """``python -m mcunet_tf.int4_weights IN.tflite OUT.tflite``: write the 4-bit re-quantised file."""
    import sys

    from tinyengine_gen.atomic_io import write_bytes_atomically

    args = sys.argv[1:] if argv is None else argv
    if len(args) != 2:
        print("int4_weights: error: usage: python -m mcunet_tf.int4_weights IN.tflite OUT.tflite", file=sys.stderr)
        return 2
    try:
        data = open(args[0], "rb").read()
        write_bytes_atomically(args[1], requantize_weights_int4(data))
    except (OSError, ValueError) as exc:
        print(f"int4_weights: error: {args[0]}: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
