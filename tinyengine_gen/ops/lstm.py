"""UNIDIRECTIONAL_SEQUENCE_LSTM: int8 activations, int16 gates and cell state, as TFLite Micro runs it.

TFLM's integer LSTM (unidirectional_sequence_lstm.cc, lstm_eval.h / lstm_eval_common.cc)
runs the standard Keras LSTM only: four gates with input and recurrent weights and a bias
each; no peephole, projection, layer norm or CIFG. Per time step and batch row:

* each gate is two int8 fully connected layers into int16 at scale 2^-12 (input with the
  gate bias, hidden state without one), added with int16 saturation; sigmoid (forget,
  input, output gates) or tanh (cell gate) by TFLite's int16 table interpolation
  (:mod:`tinyengine_gen.ops.lut16`), giving Q0.15;
* cell = sat16(forget * cell) + sat16(input * cell gate), both products requantised into
  the cell state's scale, the sum saturated to int16 and clipped to ``cell_clip``;
* hidden = int8(tanh(cell) * output gate), requantised into the hidden state's scale and
  zero point; it is the output of the step and the recurrent input of the next one.

The hidden and cell states are variable tensors: they carry over from one invoke to the
next, live in arena bytes no other tensor reuses (:mod:`tinyengine_gen.memory.lifetimes`)
and ``te_reset()`` clears them. Every multiplier is computed as TFLM's Prepare computes it
(double products of the float32 scales, QuantizeMultiplier); only per-tensor weights are
accepted, since TFLM's LSTM reads the per-tensor multiplier even for per-channel weights.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

import numpy as np

from tinyengine_gen.fixedpoint import multiply_by_quantized_multiplier, requant_multiplier
from tinyengine_gen.ir import DType, Graph, Operator, Tensor
from tinyengine_gen.ops.base import EmitContext, OpChecker, register
from tinyengine_gen.ops.kernel import DeclaredKernels, Kernel
from tinyengine_gen.ops.stateful import StatefulPlan, stateful_fields, variable_state
from tinyengine_gen.ops.lut16 import sigmoid_s16, sigmoid_table_c, tanh_input_scaling, tanh_s16

__all__ = ["LSTM_KERNEL", "LstmPlan", "plan_lstm", "lstm_reference"]

#: gate order of the tensors (input, forget, cell, output), as TFLite lists them
GATES = ("input", "forget", "cell", "output")
_INPUT_WEIGHTS, _RECURRENT_WEIGHTS, _BIASES = (1, 2, 3, 4), (5, 6, 7, 8), (12, 13, 14, 15)
_HIDDEN, _CELL = 18, 19
_VARIANTS = {9: "peephole", 10: "peephole", 11: "peephole", 16: "projection", 17: "projection",
             20: "layer norm", 21: "layer norm", 22: "layer norm", 23: "layer norm"}  # fmt: skip
_GATE_SCALE = np.float32(2.0**-12)  # gate pre-activations: Q3.12
_Q15 = np.float32(2.0**-15)  # gate outputs: Q0.15
_TANH_ACTIVATION = 4  # ActivationFunctionType.TANH, the cell gate's nonlinearity
_SIGMOID_TABLE = "te_lstm_sigmoid_table"


def _wrap32(x: np.ndarray) -> np.ndarray:
    return ((np.asarray(x, dtype=np.int64) + 2**31) % 2**32) - 2**31


#: the kernel the emitted call runs
LSTM_KERNEL = Kernel("te_lstm_s8_s16", ("te_lstm.c", "te_lstm.h", "te_fixedpoint.h"))


@dataclasses.dataclass(frozen=True, eq=False)
class LstmPlan(StatefulPlan, DeclaredKernels):
    op_index: int
    inputs: tuple[int, ...]  # input, 4 input weights, 4 recurrent weights, 4 biases, hidden, cell
    outputs: tuple[int, ...]
    batch: int
    time_steps: int
    n_input: int
    n_cell: int
    time_major: bool
    input_zero_point: int
    hidden_zero_point: int
    input_multipliers: tuple[int, ...]  # per gate: input * weight scale / 2^-12
    input_shifts: tuple[int, ...]
    recurrent_multipliers: tuple[int, ...]  # per gate: hidden * weight scale / 2^-12
    recurrent_shifts: tuple[int, ...]
    forget_multiplier: int  # 2^-15 * cell scale / cell scale
    forget_shift: int
    update_multiplier: int  # 2^-15 * 2^-15 / cell scale
    update_shift: int
    hidden_multiplier: int  # 2^-15 * 2^-15 / hidden scale
    hidden_shift: int
    cell_clip: int  # quantised; only applied where ``clip_cell``
    clip_cell: bool
    tanh_multiplier: int  # the cell state's tanh input scaling (from the cell scale's power of two)
    tanh_shift: int
    kernels = (LSTM_KERNEL,)

    @property
    def hidden(self) -> int:
        return self.inputs[13]

    @property
    def cell(self) -> int:
        return self.inputs[14]

    @property
    def macs(self) -> int:
        return self.batch * self.time_steps * 4 * self.n_cell * (self.n_input + self.n_cell)

    @property
    def scratch_bytes(self) -> int:
        """The four gate outputs of one step and batch row, int16."""
        return 2 * 4 * self.n_cell

    @property
    def state_tensors(self) -> tuple[int, ...]:
        return (self.hidden, self.cell)

    def step_reference(self, values: Mapping[int, np.ndarray]) -> tuple[np.ndarray, ...]:
        return lstm_reference(values, self)

    def emit(self, ctx: EmitContext) -> list[str]:
        def ints(values: tuple[int, ...]) -> str:
            return "{" + ", ".join(str(v) for v in values) + "}"

        params = (
            f".batch = {self.batch}, .time_steps = {self.time_steps}, .n_input = {self.n_input}, "
            f".n_cell = {self.n_cell}, .time_major = {int(self.time_major)}, "
            f".input_zero_point = {self.input_zero_point}, .hidden_zero_point = {self.hidden_zero_point}, "
            f".input_multiplier = {ints(self.input_multipliers)}, .input_shift = {ints(self.input_shifts)}, "
            f".recurrent_multiplier = {ints(self.recurrent_multipliers)}, "
            f".recurrent_shift = {ints(self.recurrent_shifts)}, "
            f".forget_multiplier = {self.forget_multiplier}, .forget_shift = {self.forget_shift}, "
            f".update_multiplier = {self.update_multiplier}, .update_shift = {self.update_shift}, "
            f".hidden_multiplier = {self.hidden_multiplier}, .hidden_shift = {self.hidden_shift}, "
            f".clip_cell = {int(self.clip_cell)}, .cell_clip = {self.cell_clip}, "
            f".tanh_multiplier = {self.tanh_multiplier}, .tanh_shift = {self.tanh_shift}"
        )
        names = [ctx.tensor(i) for i in self.inputs]
        table = ctx.definition(_SIGMOID_TABLE, sigmoid_table_c(_SIGMOID_TABLE))
        return [
            "{",
            f"  static const te_lstm_params params = {{{params}}};",
            f"  const int8_t* const input_weights[4] = {{{', '.join(names[1:5])}}};",
            f"  const int8_t* const recurrent_weights[4] = {{{', '.join(names[5:9])}}};",
            f"  const int32_t* const biases[4] = {{{', '.join(names[9:13])}}};",
            f"  {LSTM_KERNEL.name}(&params, {names[0]}, input_weights, recurrent_weights, biases, {names[13]}, "
            f"{names[14]}, {ctx.scratch('int16_t')}, {table}, {ctx.tensor(self.outputs[0])});",
            "}",
        ]


def _check_variants(check: OpChecker) -> None:
    """TFLM runs the standard LSTM only (its ValidateTensorStatus): name the variant otherwise."""
    found = sorted({name for position, name in _VARIANTS.items() if check.input(position, optional=True) is not None})
    if found:
        raise check.unsupported(
            f"an LSTM with {' and '.join(found)} tensors is not supported (TFLite Micro runs the standard Keras LSTM only)."
        )
    missing = [p for p in (*_INPUT_WEIGHTS, *_RECURRENT_WEIGHTS, *_BIASES) if check.input(p, optional=True) is None]
    if missing:
        raise check.unsupported(
            f"input {missing[0]} is missing: TFLite Micro needs every gate's weights and bias (no CIFG variant)."
        )


def _weight_scale(check: OpChecker, weights: Tensor, shape: tuple[int, int], what: str) -> float:
    check.dtype(weights, DType.INT8)
    check.constant(weights, what)
    if tuple(weights.shape) != shape:
        raise check.unsupported(f"{weights.describe()} ({what}) should have shape {list(shape)}.")
    scale, zero_point = check.per_tensor_quant(weights)
    if zero_point != 0:
        raise check.quant_error(f"{weights.describe()} has zero point {zero_point}; LSTM weights must be symmetric.")
    return scale


def _gate_multipliers(activation_scale: float, weight_scales: list[float]) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """(multipliers, shifts) of activation * weight / 2^-12 per gate, as GetQuantizedConvolutionMultipler."""
    pairs = [
        requant_multiplier(float(np.float32(activation_scale)) * float(np.float32(w)) / float(_GATE_SCALE))
        for w in weight_scales
    ]
    return tuple(m for m, _ in pairs), tuple(s for _, s in pairs)


def _product_multiplier(a: float, b: float, out: float) -> tuple[int, int]:
    """CreateInterGateMulParams: double(a) * double(b) / double(out), QuantizeMultiplier."""
    return requant_multiplier(float(np.float32(a)) * float(np.float32(b)) / float(np.float32(out)))


def _cell_state_power(scale: float) -> int:
    """TFLite's CheckedLog2 (float32 log, rounded half away from zero): the cell scale's power of two."""
    log2 = np.float32(np.log(np.float32(scale))) * (np.float32(1.0) / np.float32(np.log(np.float32(2.0))))
    return int(np.trunc(log2 + np.copysign(np.float32(0.5), log2)))


@register("UNIDIRECTIONAL_SEQUENCE_LSTM", inputs=9)
def plan_lstm(graph: Graph, op: Operator) -> LstmPlan:
    check = OpChecker(graph, op)
    if len(op.inputs) != 24:
        raise check.unsupported(f"has {len(op.inputs)} inputs; TFLite Micro's LSTM takes 24.")
    _check_variants(check)
    x, y = check.required_input(0), check.output()
    hidden, cell = check.input(_HIDDEN, optional=True), check.input(_CELL, optional=True)
    if hidden is None or cell is None:
        raise check.unsupported("the hidden and cell state tensors (inputs 18 and 19) are missing.")
    check.dtype(x, DType.INT8)
    check.dtype(y, DType.INT8)
    check.dtype(hidden, DType.INT8)
    if cell.dtype != DType.INT16:
        raise check.unsupported(f"{cell.describe()} (the cell state) must be int16, as TFLite Micro's integer LSTM needs.")
    variable_state(check, hidden, "hidden state")
    variable_state(check, cell, "cell state")
    options = check.required_options("activation NONE")
    if int(options.get("fusedActivationFunction", 0) or 0) != _TANH_ACTIVATION:
        raise check.unsupported("the cell gate's activation must be TANH (TFLite Micro runs tanh or sigmoid only).")
    check.rank(x, 3)
    time_major = bool(options.get("timeMajor", False))
    steps, batch = (x.shape[0], x.shape[1]) if time_major else (x.shape[1], x.shape[0])
    n_input = x.shape[2]
    if len(hidden.shape) < 2:
        raise check.unsupported(f"{hidden.describe()} (the hidden state) must have rank 2.")
    n_cell = hidden.shape[1]
    if hidden.num_elements != batch * n_cell or cell.num_elements != batch * n_cell:
        raise check.unsupported(f"the state tensors must hold {batch} x {n_cell} values.")
    check.output_shape_matches(y, (x.shape[0], x.shape[1], n_cell))
    input_scales = [_weight_scale(check, check.required_input(p), (n_cell, n_input), "input weights") for p in _INPUT_WEIGHTS]
    recurrent_scales = [
        _weight_scale(check, check.required_input(p), (n_cell, n_cell), "recurrent weights") for p in _RECURRENT_WEIGHTS
    ]
    for position in _BIASES:
        bias = check.required_input(position)
        check.dtype(bias, DType.INT32)
        check.constant(bias, "gate bias")
        if bias.num_elements != n_cell:
            raise check.unsupported(f"{bias.describe()} must have one value per cell ({n_cell}).")
    s_in, z_in = check.per_tensor_quant(x)
    s_hidden, z_hidden = check.per_tensor_quant(hidden)
    s_cell, z_cell = check.per_tensor_quant(cell)
    if z_cell != 0:
        raise check.quant_error(f"{cell.describe()} has zero point {z_cell}; the cell state must be symmetric.")
    tanh_left_shift = 15 + _cell_state_power(s_cell) - 3
    if tanh_left_shift > 14:
        raise check.quant_error(f"{cell.describe()} has scale {s_cell:.4g}; an int16 cell state needs a scale below 2^3.")
    tanh_multiplier, tanh_shift = tanh_input_scaling(tanh_left_shift)
    clip = float(np.float32(options.get("cellClip", 0.0) or 0.0))
    in_m, in_s = _gate_multipliers(s_in, input_scales)
    rec_m, rec_s = _gate_multipliers(s_hidden, recurrent_scales)
    forget_m, forget_s = _product_multiplier(float(_Q15), s_cell, s_cell)
    update_m, update_s = _product_multiplier(float(_Q15), float(_Q15), s_cell)
    hidden_m, hidden_s = _product_multiplier(float(_Q15), float(_Q15), s_hidden)
    inputs = tuple(op.inputs[p] for p in (0, *_INPUT_WEIGHTS, *_RECURRENT_WEIGHTS, *_BIASES, _HIDDEN, _CELL))
    return LstmPlan(
        **stateful_fields(op, inputs, y, batch, n_input, z_in),
        time_steps=steps,
        n_cell=n_cell,
        time_major=time_major,
        hidden_zero_point=z_hidden,
        input_multipliers=in_m,
        input_shifts=in_s,
        recurrent_multipliers=rec_m,
        recurrent_shifts=rec_s,
        forget_multiplier=forget_m,
        forget_shift=forget_s,
        update_multiplier=update_m,
        update_shift=update_s,
        hidden_multiplier=hidden_m,
        hidden_shift=hidden_s,
        cell_clip=int(np.clip(clip / float(np.float32(s_cell)), -32768.0, 32767.0)),
        clip_cell=clip > 0,
        tanh_multiplier=tanh_multiplier,
        tanh_shift=tanh_shift,
    )


def _gate_fc(rows: np.ndarray, weights: np.ndarray, bias: np.ndarray | None, multiplier: int, shift: int) -> np.ndarray:
    """int8 x int8 -> int16 fully connected (rows already less their zero point), TFLM's int32 sums."""
    acc = _wrap32(rows @ weights.astype(np.int64).T)
    if bias is not None:
        acc = _wrap32(acc + bias.astype(np.int64))
    return np.clip(multiply_by_quantized_multiplier(acc, multiplier, shift), -32768, 32767)


def _product(a: np.ndarray, b: np.ndarray, multiplier: int, shift: int, offset: int, low: int, high: int) -> np.ndarray:
    """TFLite's MulElementwise of two int16 vectors, requantised and clamped."""
    scaled = multiply_by_quantized_multiplier(a.astype(np.int64) * b.astype(np.int64), multiplier, shift)
    return np.clip(offset + scaled, low, high)


def lstm_reference(values: Mapping[int, np.ndarray], plan: LstmPlan) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pure-numpy twin of te_lstm_s8_s16: (output, new hidden state, new cell state)."""
    x = np.asarray(values[plan.inputs[0]], dtype=np.int64)
    w_in = [np.asarray(values[i]).reshape(plan.n_cell, plan.n_input) for i in plan.inputs[1:5]]
    w_rec = [np.asarray(values[i]).reshape(plan.n_cell, plan.n_cell) for i in plan.inputs[5:9]]
    biases = [np.asarray(values[i]).reshape(plan.n_cell) for i in plan.inputs[9:13]]
    hidden = np.asarray(values[plan.hidden], dtype=np.int64).reshape(plan.batch, plan.n_cell).copy()
    cell = np.asarray(values[plan.cell], dtype=np.int64).reshape(plan.batch, plan.n_cell).copy()
    sequence = x if plan.time_major else x.transpose(1, 0, 2)  # [time, batch, input]
    outputs = np.zeros((plan.time_steps, plan.batch, plan.n_cell), dtype=np.int64)
    for t in range(plan.time_steps):
        rows, recurrent = sequence[t] - plan.input_zero_point, hidden - plan.hidden_zero_point
        gates = []
        for g in range(4):
            a = _gate_fc(rows, w_in[g], biases[g], plan.input_multipliers[g], plan.input_shifts[g])
            b = _gate_fc(recurrent, w_rec[g], None, plan.recurrent_multipliers[g], plan.recurrent_shifts[g])
            total = np.clip(a + b, -32768, 32767)
            gates.append(tanh_s16(total, 3, 0) if GATES[g] == "cell" else sigmoid_s16(total))
        input_gate, forget_gate, cell_gate, output_gate = gates
        kept = _product(forget_gate, cell, plan.forget_multiplier, plan.forget_shift, 0, -32768, 32767)
        update = _product(input_gate, cell_gate, plan.update_multiplier, plan.update_shift, 0, -32768, 32767)
        cell = np.clip(kept + update, -32768, 32767)
        if plan.clip_cell:
            cell = np.clip(cell, -plan.cell_clip, plan.cell_clip)
        squashed = tanh_s16(cell, plan.tanh_multiplier, plan.tanh_shift)
        hidden = _product(
            squashed, output_gate, plan.hidden_multiplier, plan.hidden_shift, plan.hidden_zero_point, -128, 127
        )
        outputs[t] = hidden
    output = outputs if plan.time_major else outputs.transpose(1, 0, 2)
    return output.astype(np.int8), hidden.astype(np.int8), cell.astype(np.int16)
