"""What every operator module provides, and the registry that maps opcodes to them.

An operator module registers a *planning function* for its opcode. Planning validates the
operator against the IR and computes everything the kernel needs (multipliers, shifts,
padding, shapes, scratch size) once, into a frozen plan object. The plan then knows how to
run itself in numpy (the reference), how to emit its C call, what it costs in MACs and
which kernel sources it needs. Nothing downstream looks at the flatbuffer again.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol, TypeGuard, TypeVar, runtime_checkable

import numpy as np

from tinyengine_gen.errors import QuantizationError, UnsupportedModelError, UnsupportedOperatorError
from tinyengine_gen.fixedpoint import ScaleRangeError, activation_range, requant_multipliers
from tinyengine_gen.ir import DType, Graph, Operator, Tensor
from tinyengine_gen.frontend.schema import schema
from tinyengine_gen.ops.kernel import Kernel

__all__ = [
    "DataMovementPlan",
    "EmitContext",
    "InPlaceVariant",
    "LeanVariant",
    "OpPlan",
    "has_in_place_variant",
    "has_lean_variant",
    "register",
    "check_structure",
    "plan_operator",
    "supported_opcodes",
    "planner_for",
    "check_supported",
    "describe_opcode",
    "OpChecker",
    "per_channel_requant",
    "same_or_valid_padding",
    "spatial_padding",
    "filter_scale_list",
    "bias_vector",
    "replace_plan",
    "plan_property",
]


class EmitContext(Protocol):
    """What an op's ``emit`` may ask of the emitter."""

    def tensor(self, index: int) -> str:
        """C expression for the (typed) pointer to a tensor: arena slot or const array."""

    def const(self, hint: str, array: np.ndarray) -> str:
        """Emit ``array`` as a 16-byte aligned const array in Flash; returns its symbol."""

    def scratch(self, c_type: str = "int8_t") -> str:
        """C expression for this op's scratch buffer (``scratch_bytes`` long) in the arena."""

    def definition(self, name: str, text: str) -> str:
        """Emit ``text`` once at file scope of model.c (e.g. a kernel specialisation); returns ``name``."""


@runtime_checkable
class OpPlan(Protocol):
    """A planned operator. Implementations are frozen dataclasses (so these are read-only)."""

    @property
    def op_index(self) -> int:
        """The operator's index in the file."""

    @property
    def inputs(self) -> tuple[int, ...]:
        """Tensor indices the kernel reads (constants folded into the plan are not listed)."""

    @property
    def outputs(self) -> tuple[int, ...]:
        """Tensor indices the kernel writes."""

    @property
    def macs(self) -> int:
        """Multiply-accumulates of one invocation (0 for data movement)."""

    @property
    def scratch_bytes(self) -> int:
        """Temporary bytes the kernel needs while it runs (placed in the arena)."""

    @property
    def kernels(self) -> tuple[Kernel, ...]:
        """The kernels the emitted call runs (see :class:`tinyengine_gen.ops.kernel.DeclaredKernels`)."""

    @property
    def kernel_sources(self) -> tuple[str, ...]:
        """Files in tinyengine_gen/kernels that the emitted call needs (.c and .h), derived from ``kernels``."""

    @property
    def aliases(self) -> tuple[tuple[int, int], ...]:
        """(output, input) tensor pairs that share storage (a view such as RESHAPE)."""

    def reference(self, values: Mapping[int, np.ndarray]) -> dict[int, np.ndarray]:
        """Run the op in numpy on ``values`` (tensor index -> array); returns its outputs."""

    def emit(self, ctx: EmitContext) -> list[str]:
        """C statements that run the op."""


class DataMovementPlan:
    """Base of the plans whose kernel does no multiply-accumulates and needs no scratch.

    Data movement (RESHAPE, GATHER, SPLIT, PACK, PAD, TRANSPOSE, QUANTIZE ...) and the
    table look-ups (the unary lookup table, SOFTMAX, LOG_SOFTMAX) count 0 MACs and, unless
    they say otherwise by overriding ``scratch_bytes``, 0 bytes of scratch: written once
    here instead of in every plan class. Subclasses are frozen dataclasses; this base has
    no fields, so it changes none of their constructors.
    """

    @property
    def macs(self) -> int:
        return 0

    @property
    def scratch_bytes(self) -> int:
        return 0


@runtime_checkable
class InPlaceVariant(Protocol):
    """A plan that may write its output over its first input (passes/in_place.py decides where)."""

    def in_place_variant(self) -> OpPlan | None:
        """The same operator writing over its input, or None where this plan cannot."""


@runtime_checkable
class LeanVariant(Protocol):
    """A plan with a variant that needs less scratch (passes/lean_scratch.py tries it at the peak)."""

    def lean_variant(self) -> OpPlan | None:
        """The same operator with less scratch (and usually more time), or None."""


def has_in_place_variant(plan: object) -> TypeGuard[InPlaceVariant]:
    """Whether ``plan``'s class declares :class:`InPlaceVariant` (cached per class, see :func:`_declares`)."""
    return _declares(type(plan), InPlaceVariant)


def has_lean_variant(plan: object) -> TypeGuard[LeanVariant]:
    """Whether ``plan``'s class declares :class:`LeanVariant` (cached per class, see :func:`_declares`)."""
    return _declares(type(plan), LeanVariant)


_DECLARED: dict[tuple[type, type], bool] = {}


def _declares(cls: type, feature: type) -> bool:
    """The answer depends on the class alone, so it is kept per class: the passes ask it of
    every plan of every architecture the NAS cost model prices, and an ``isinstance`` on a
    runtime protocol is some 300 times slower than this lookup."""
    key = (cls, feature)
    found = _DECLARED.get(key)
    if found is None:
        found = _DECLARED[key] = issubclass(cls, feature)
    return found


PlanFunction = Callable[[Graph, Operator], OpPlan]
#: a planning function, kept with its own plan type by :func:`register`
PlanFunctionT = TypeVar("PlanFunctionT", bound=PlanFunction)
#: a plan class, kept through :func:`replace_plan`
PlanT = TypeVar("PlanT", bound=OpPlan)
_REGISTRY: dict[str, PlanFunction] = {}


#: how many leading inputs each registered operator cannot do without
_REQUIRED_INPUTS: dict[str, int] = {}


def register(opcode: str, *, inputs: int = 1) -> Callable[[PlanFunctionT], PlanFunctionT]:
    """Decorator: make ``function`` the planner for ``opcode``, whose first ``inputs``
    inputs must be present (checked by :func:`check_structure` before any pass runs)."""

    def decorate(function: PlanFunctionT) -> PlanFunctionT:
        if opcode in _REGISTRY:
            raise RuntimeError(f"two planners registered for {opcode}")
        _REGISTRY[opcode] = function
        _REQUIRED_INPUTS[opcode] = inputs
        return function

    return decorate


def check_structure(graph: Graph) -> None:
    """Every operator has its required inputs and an output, before any pass reads them.

    The graph passes (PAD folding, QUANTIZE stripping...) look at an operator's first
    input; a file that omits it must get this one line, not an IndexError inside a pass.
    """
    for op in graph.operators:
        required = _REQUIRED_INPUTS.get(op.opcode, 0)
        missing = [i for i in range(required) if i >= len(op.inputs) or op.inputs[i] < 0]
        if missing:
            raise UnsupportedModelError(
                f"{graph.source}: {op.describe()}: input {missing[0]} is missing "
                f"({len(op.inputs)} inputs; {op.opcode} needs {required})."
            )
        if not op.outputs:
            raise UnsupportedModelError(f"{graph.source}: {op.describe()}: output 0 is missing.")


def supported_opcodes() -> list[str]:
    return sorted(_REGISTRY)


def planner_for(opcode: str) -> PlanFunction:
    """The planning function registered for ``opcode`` (KeyError if none)."""
    return _REGISTRY[opcode]


#: Custom operators whose name says where the model came from, and what to do instead.
_CUSTOM_ADVICE = {
    "ethos-u": "a model compiled by Vela for an Ethos-U NPU, compile the model before Vela",
    "TFLite_Detection_PostProcess": "the SSD detection post-processing op, run it outside the compiled model",
}


def describe_opcode(opcode: str) -> str:
    """How messages name an opcode: a custom one as ``CUSTOM 'code'`` (the reader stores ``CUSTOM:code``)."""
    if opcode.startswith("CUSTOM:"):
        return f"CUSTOM '{opcode[len('CUSTOM:'):]}'"
    return opcode


def _opcode_advice(opcode: str) -> str:
    """What a custom operator's code says about the model, or ''."""
    if not opcode.startswith("CUSTOM:"):
        return ""
    code = opcode[len("CUSTOM:") :]
    if code.startswith("Flex"):
        return "a TensorFlow (select TF ops) kernel, convert with TFLITE_BUILTINS_INT8 only"
    return _CUSTOM_ADVICE.get(code, "")


def check_supported(graph: Graph) -> None:
    """Raise one error naming every operator type of ``graph`` that has no planner here.

    Each is listed once, with how many times it occurs and the index of its first
    occurrence, so the user sees the whole job at once instead of one operator per run.
    """
    found: dict[str, list[int]] = {}
    for op in graph.operators:
        if op.opcode not in _REGISTRY:
            found.setdefault(op.opcode, []).append(op.index)
    if found:
        raise unsupported_operators_error(graph.source, found)


def unsupported_operators_error(source: str, found: Mapping[str, Sequence[int]]) -> UnsupportedOperatorError:
    """The one-line error for unsupported opcodes (opcode -> operator indices, in file order)."""
    parts = []
    for opcode, indices in sorted(found.items(), key=lambda item: item[1][0]):
        advice = _opcode_advice(opcode)
        parts.append(
            f"{describe_opcode(opcode)} (x{len(indices)}, first at operator {indices[0]})"
            + (f": {advice}" if advice else "")
        )
    noun = "operator is" if len(parts) == 1 else "operators are"
    return UnsupportedOperatorError(
        f"{source}: {len(parts)} unsupported {noun} used: " + "; ".join(parts) + "; supported operators: "
        + ", ".join(supported_opcodes())
        + "."
    )


def plan_operator(graph: Graph, op: Operator) -> OpPlan:
    """Plan one operator, or say clearly that it is not supported."""
    planner = _REGISTRY.get(op.opcode)
    if planner is None:
        raise unsupported_operators_error(graph.source, {op.opcode: [op.index]})
    try:
        return planner(graph, op)
    except ScaleRangeError as exc:
        if str(exc).startswith(f"{graph.source}:"):
            raise
        raise ScaleRangeError(f"{graph.source}: {op.describe()} ({_scales_of(graph, op)}): {exc}") from None


def _scales_of(graph: Graph, op: Operator) -> str:
    """``'name' scale S`` of each quantised tensor the operator reads and writes (for messages)."""
    named = []
    for index in (*op.inputs, *op.outputs):
        tensor = graph.tensor(index) if index >= 0 else None
        if tensor is not None and tensor.quant is not None and tensor.quant.scales:
            scales = tensor.quant.scales
            shown = f"{scales[0]:.4g}" if len(scales) == 1 else f"{min(scales):.4g}..{max(scales):.4g}"
            named.append(f"'{tensor.name}' scale {shown}")
    return ", ".join(named)


class plan_property(functools.cached_property):  # noqa: N801 (a decorator, named like the one it refines)
    """A ``functools.cached_property`` for plans, without the lock Python 3.11 takes on
    every first read. Plans are immutable and their properties deterministic, so two
    threads racing on a first read store equal values; the NAS cost model makes (and
    reads) dozens of new plans for every config it prices. :func:`replace_plan` drops
    their values from a copy, as it does a cached property's."""

    def __get__(self, instance: object, owner: type | None = None) -> Any:
        if instance is None:
            return self
        value = instance.__dict__[self.attrname] = self.func(instance)  # type: ignore[index]
        return value


def replace_plan(plan: PlanT, **changes: object) -> PlanT:
    """``dataclasses.replace`` for a frozen plan, five times faster.

    Variants (in place, lean) and re-bound plans are made for every operator of every
    architecture the NAS cost model prices, so the copy is on its hot path. A plan class
    with nothing to re-run on construction (no ``__post_init__``, no ``__slots__``) is
    copied through its instance dict, less the values its cached properties stored (they
    may depend on the changed fields, and are recomputed on demand): exactly the object
    ``replace`` would build. Any other class takes ``replace`` itself.
    """
    cls = type(plan)
    cached = _cached_properties(cls)
    if cached is None:
        return dataclasses.replace(plan, **changes)  # type: ignore[type-var]
    fields = cls.__dataclass_fields__  # type: ignore[attr-defined]
    for name in changes:
        if name not in fields:
            raise TypeError(f"{cls.__name__} has no field {name!r}")
    copy = object.__new__(cls)
    values = copy.__dict__
    values.update(plan.__dict__)
    values.update(changes)
    for name in cached:
        values.pop(name, None)
    return copy


@functools.lru_cache(maxsize=None)
def _cached_properties(cls: type) -> tuple[str, ...] | None:
    """Names of ``cls``'s cached properties, or None if it cannot be copied through its dict."""
    if not dataclasses.is_dataclass(cls) or hasattr(cls, "__post_init__") or hasattr(cls, "__slots__"):
        return None
    return tuple(
        name for k in cls.__mro__ for name, v in vars(k).items() if isinstance(v, functools.cached_property)
    )


_ACTIVATION_NAMES = {v: k for k, v in vars(schema.ActivationFunctionType).items() if not k.startswith("_")}
_PADDING_NAMES = {v: k for k, v in vars(schema.Padding).items() if not k.startswith("_")}


class OpChecker:
    """Validation helpers bound to one operator, so every message names the file and op."""

    def __init__(self, graph: Graph, op: Operator) -> None:
        self.graph = graph
        self.op = op

    def unsupported(self, message: str) -> UnsupportedOperatorError:
        return UnsupportedOperatorError(f"{self.graph.source}: {self.op.describe()}: {message}")

    def quant_error(self, message: str) -> QuantizationError:
        return QuantizationError(f"{self.graph.source}: {self.op.describe()}: {message}")

    def required_options(self, zeros_mean: str) -> Mapping[str, Any]:
        """The operator's builtin options. TFLite Micro reads an absent options table as all
        zeros (``zeros_mean``: e.g. stride 0), which no kernel runs: refused here."""
        if not self.op.options:
            raise self.unsupported(
                f"has no builtin options; TFLite Micro would read them as zeros ({zeros_mean}) and cannot run it "
                "(re-export the model with the TFLite converter)."
            )
        return self.op.options

    def input(self, position: int, *, optional: bool = False) -> Tensor | None:
        if position >= len(self.op.inputs) or self.op.inputs[position] < 0:
            if optional:
                return None
            raise UnsupportedModelError(f"{self.graph.source}: {self.op.describe()}: input {position} is missing.")
        return self.graph.tensor(self.op.inputs[position])

    def required_input(self, position: int) -> Tensor:
        tensor = self.input(position)
        assert tensor is not None
        return tensor

    def output(self, position: int = 0) -> Tensor:
        if position >= len(self.op.outputs):
            raise UnsupportedModelError(f"{self.graph.source}: {self.op.describe()}: output {position} is missing.")
        return self.graph.tensor(self.op.outputs[position])

    def dtype(self, tensor: Tensor, *allowed: DType) -> None:
        if tensor.dtype not in allowed:
            names = "/".join(d.value for d in allowed)
            if tensor.dtype == DType.INT16 and not tensor.is_constant:
                raise self.unsupported(
                    f"{tensor.describe()} is an int16 activation: 16x8 quantisation (int16 activations, int8 "
                    f"weights) is not supported yet by this kernel ({names}); convert with int8 activations "
                    "(supported_ops=[TFLITE_BUILTINS_INT8])."
                )
            raise self.unsupported(
                f"{tensor.describe()} has dtype {tensor.dtype.value}; this kernel supports {names} "
                "(quantise the model to int8 with a representative dataset)."
            )

    def rank(self, tensor: Tensor, *ranks: int) -> None:
        if len(tensor.shape) not in ranks:
            raise self.unsupported(f"{tensor.describe()} has rank {len(tensor.shape)}; expected rank {ranks}.")

    def constant(self, tensor: Tensor | None, what: str) -> np.ndarray:
        if tensor is None or tensor.data is None:
            raise self.unsupported(f"the {what} must be a constant tensor.")
        return tensor.data

    def per_tensor_quant(self, tensor: Tensor) -> tuple[float, int]:
        """(scale, zero point) of a per-tensor quantised int8/int32 tensor."""
        q = tensor.quant
        if q is None:
            raise self.quant_error(f"{tensor.describe()} has no quantisation parameters.")
        if q.per_channel:
            raise self.quant_error(f"{tensor.describe()} is quantised per channel; this input must be per tensor.")
        if not (q.scale > 0 and np.isfinite(q.scale)):
            raise self.quant_error(f"{tensor.describe()} has scale {q.scale}; scales must be positive and finite.")
        if tensor.dtype == DType.INT8 and not -128 <= q.zero_point <= 127:
            raise self.quant_error(f"{tensor.describe()} has zero point {q.zero_point} outside int8.")
        return q.scale, q.zero_point

    def activation(self) -> str:
        code = int(self.op.options.get("fusedActivationFunction", 0) or 0)
        name = _ACTIVATION_NAMES.get(code, f"code {code}")
        if name not in ("NONE", "RELU", "RELU6", "RELU_N1_TO_1"):
            raise self.unsupported(f"fused activation {name} is not supported (NONE, RELU, RELU6).")
        return name

    def padding(self) -> str:
        code = int(self.op.options.get("padding", 0) or 0)
        return _PADDING_NAMES.get(code, f"code {code}")

    def activation_bounds(self, output: Tensor) -> tuple[int, int]:
        scale, zero_point = self.per_tensor_quant(output)
        return activation_range(self.activation(), scale, zero_point)

    def output_shape_matches(self, tensor: Tensor, expected: Sequence[int]) -> None:
        if tuple(tensor.shape) != tuple(expected):
            raise UnsupportedModelError(
                f"{self.graph.source}: {self.op.describe()}: {tensor.describe()} should have shape "
                f"{list(expected)} from its inputs and options."
            )


def per_channel_requant(input_scale: float, filter_scales: Sequence[float], output_scale: float, channels: int) -> tuple[np.ndarray, np.ndarray]:
    """Per-output-channel (multiplier, shift) as PopulateConvolutionQuantizationParams computes them.

    The effective scale is input * filter / output in double precision from the float32
    scales; a per-tensor filter scale is broadcast to every channel, as TFLite does.
    """
    scales = np.asarray(filter_scales, dtype=np.float32).astype(np.float64)
    if scales.size == 1:
        scales = np.full(channels, scales[0])
    effective = float(np.float32(input_scale)) * scales / float(np.float32(output_scale))
    return requant_multipliers(effective)


def same_or_valid_padding(padding: str, in_size: int, filter_size: int, stride: int, dilation: int) -> tuple[int, int]:
    """(output size, leading pad) exactly as TFLite's ComputePaddingHeightWidth."""
    effective = (filter_size - 1) * dilation + 1
    if padding == "SAME":
        out = (in_size + stride - 1) // stride
    elif padding == "VALID":
        out = (in_size + stride - effective) // stride
    else:
        raise ValueError(padding)
    total = max((out - 1) * stride + effective - in_size, 0)
    return out, total // 2


def filter_scale_list(check: OpChecker, w: Tensor, channels: int, channel_axis: int = 0) -> tuple[float, ...]:
    """Symmetric int8 weight scales, checked against the channel count and axis."""
    q = w.quant
    if q is None:
        raise check.quant_error(f"{w.describe()} (filter) has no quantisation parameters.")
    if q.per_channel and (len(q.scales) != channels or q.axis != channel_axis):
        raise check.quant_error(
            f"{w.describe()} has {len(q.scales)} scales on axis {q.axis}; expected {channels} on axis {channel_axis}."
        )
    if any(z != 0 for z in q.zero_points):
        raise check.quant_error(f"{w.describe()} has non-zero weight zero points; int8 weights must be symmetric.")
    scales = np.asarray(q.scales, dtype=np.float64)
    if not (np.all(scales > 0) and np.all(np.isfinite(scales))):
        raise check.quant_error(f"{w.describe()} has a non-positive or non-finite scale.")
    return q.scales


def bias_vector(check: OpChecker, b: Tensor | None, channels: int) -> np.ndarray:
    """The int32 bias as a flat vector (zeros when the op has none)."""
    if b is None:
        return np.zeros(channels, dtype=np.int32)
    check.dtype(b, DType.INT32)
    data = check.constant(b, "bias")
    if data.size != channels:
        raise check.unsupported(f"{b.describe()} has {data.size} values for {channels} output channels.")
    return np.ascontiguousarray(data.reshape(channels), dtype=np.int32)


def spatial_padding(
    check: OpChecker, size: tuple[int, int], kernel: tuple[int, int], stride: tuple[int, int], dilation: tuple[int, int]
) -> tuple[tuple[int, int], tuple[int, int]]:
    """((out_h, pad_top), (out_w, pad_left)) from the op's SAME/VALID padding, or from the
    explicit (top, bottom, left, right) padding that :func:`tinyengine_gen.passes.fold_pad.fold_pad`
    gives a layer when it folds a PAD into it.
    """
    explicit = check.op.options.get("explicitPadding")
    if explicit is not None:
        top, bottom, left, right = explicit
        padded = (size[0] + top + bottom, size[1] + left + right)
        outs = [
            (padded[axis] - ((kernel[axis] - 1) * dilation[axis] + 1)) // stride[axis] + 1 for axis in (0, 1)
        ]
        return (outs[0], top), (outs[1], left)
    name = check.padding()
    if name not in ("SAME", "VALID"):
        raise check.unsupported(f"padding {name} is not supported (SAME, VALID).")
    return tuple(same_or_valid_padding(name, size[a], kernel[a], stride[a], dilation[a]) for a in (0, 1))  # type: ignore[return-value]
