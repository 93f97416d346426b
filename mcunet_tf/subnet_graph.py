"""A sub-network as the engine sees it: a ``tinyengine_gen.ir.Graph`` built straight from its config.

The graph has exactly the operators and tensors that the TFLite converter produces for the
extracted Keras model quantised to int8 with int8 input and output: each conv, BN and
ReLU6 fold into one CONV_2D or DEPTHWISE_CONV_2D (fused RELU6, or NONE for the projection),
residuals are ADD, global pooling is MEAN over axes [1, 2] without kept dims, and the
classifier is a per-channel FULLY_CONNECTED on the pooled ``[1, C]`` vector. Every conv
has SAME padding, as the extracted model's layers do.

Weights are zeros and the scales are fixed: memory planning and Flash depend only on shapes
and on which constant arrays each operator emits, so no conversion (seconds) is needed
to price an architecture (microseconds). Tests check this against real conversions. The
scales are the converter's kind, not 1.0, because the kernel variants depend on them: a
ReLU6 output is [0, 6] in 255 steps (zero point -128, so its clamp is the whole int8
range), a weight scale well below the activation scale (a requantisation multiplier below
one, right shift: the DSP kernels' fast requantisation). A project whose GEMM layers all
requantise that way compiles no general-requantisation copies (te_gemm_config.h), as the
exported sub-networks do, so the firmware cost model prices the same kernel objects.

Tensors and operators are immutable, and a block's are fixed by its spec, its input's
shape and where its tensors and operators start (likewise the stem's and the tail's): the
search prices thousands of configs in which the same blocks recur at the same places, so
graphs share those objects (kept in a bounded memo of recent pieces) instead of building
them again, and the cost model can remember what it derived from them by their identity.
"""

from __future__ import annotations

import dataclasses
import functools
import math
import threading
from collections.abc import Callable, Hashable, Mapping
from types import MappingProxyType
from typing import Any

import numpy as np

from mcunet_tf.arch import ArchConfig
from mcunet_tf.blueprint import STEM_KERNEL, STEM_STRIDE, BlockSpec, Blueprint, blueprint
from mcunet_tf.space import SearchSpace
from tinyengine_gen.ir import DType, Graph, Operator, Quantization, Tensor
from tinyengine_gen.ops.base import same_or_valid_padding
from tinyengine_gen.frontend.schema import schema

__all__ = ["SubnetGraph", "BuiltSubnet", "build_subnet_graph", "forget_shared_pieces"]

_SAME = int(schema.Padding.SAME)
_RELU6 = int(schema.ActivationFunctionType.RELU6)
_NONE = int(schema.ActivationFunctionType.NONE)
#: TFLite stores per-channel depthwise scales on the last filter axis, conv/FC scales on axis 0.
_DEPTHWISE_AXIS = 3
#: activation scale: ReLU6's [0, 6] in 255 steps (the converter's, for every ReLU6 output)
_ACTIVATION_SCALE = 6.0 / 255.0
_ACTIVATION_QUANT = Quantization(scales=(_ACTIVATION_SCALE,), zero_points=(0,))
_RELU6_QUANT = Quantization(scales=(_ACTIVATION_SCALE,), zero_points=(-128,))
#: per-channel weight scale: requantisation multipliers of 2^-7 (a right shift, as trained
#: weights give; a scale of 1.0 would be a left shift, which no real layer has)
_WEIGHT_SCALE = 1.0 / 128.0
_INT8, _INT32 = DType.INT8, DType.INT32
_MEAN_AXES = np.array([1, 2], dtype=np.int32)
_MEAN_AXES.setflags(write=False)
_MEAN_OPTIONS = MappingProxyType({"keepDims": False})
_ADD_OPTIONS = MappingProxyType({"fusedActivationFunction": _NONE})
_FC_OPTIONS = MappingProxyType({"fusedActivationFunction": _NONE, "keepNumDims": False, "weightsFormat": 0})


_ITEMSIZE = {dtype: dtype.itemsize for dtype in DType}
_NUMPY_NAME = {dtype: dtype.value for dtype in DType}


class _Tensor(Tensor):
    """An ir.Tensor whose sizes use math.prod and a table (np.prod and np.dtype cost ~8 us a
    call), computed once: a block's tensors recur in the graphs of many configs.

    TODO(tinyengine_gen): drop when ``ir.Tensor.num_elements`` / ``nbytes`` are this fast themselves.
    """

    @functools.cached_property
    def num_elements(self) -> int:
        return math.prod(self.shape)

    @functools.cached_property
    def nbytes(self) -> int:
        return math.prod(self.shape) * _ITEMSIZE[self.dtype]


@functools.lru_cache(maxsize=4096)
def _ones(shape: tuple[int, ...], dtype: str) -> np.ndarray:
    """Shared read-only parameter data: the planners only read shapes and copy, never write.
    Ones, not zeros: an all-zero filter is what a pruned model's dead channels look like, and
    the engine computes those as constants (tinyengine_gen/passes/dead_channels.py), which a
    trained network's channels are not."""
    array = np.ones(shape, dtype=dtype)
    array.setflags(write=False)
    return array


@functools.lru_cache(maxsize=1024)
def _per_channel(channels: int, axis: int) -> Quantization:
    return Quantization(scales=(_WEIGHT_SCALE,) * channels, zero_points=(0,) * channels, axis=axis)


class SubnetGraph:
    """Accumulates tensors and operators in execution order; :meth:`graph` freezes them.

    With ``materialize=False`` only shapes, signatures and the parameter count are kept (no
    Tensor or Operator objects): enough to price Flash and MACs from memoised plans, at a
    third of the cost.
    """

    def __init__(self, source: str, materialize: bool = True) -> None:
        self.source = source
        self.materialize = materialize
        self.shapes: list[tuple[int, ...]] = []
        self.tensors: list[Tensor] = []
        self.operators: list[Operator] = []
        #: weights and biases of the int8 model (BN folded into the convs)
        self.parameters = 0
        #: per operator, everything its plan depends on (shapes and options: data and scales are synthetic)
        self.signatures: list[Hashable] = []

    def _tensor(self, name: str, shape: tuple[int, ...], dtype: DType, quant: Quantization | None, data=None) -> int:
        # What the frozen dataclass __init__ does (one object.__setattr__ per field), in one
        # dict update: a graph has ~190 tensors and the cost model builds one per config.
        index = len(self.shapes)
        self.shapes.append(shape)
        if self.materialize:
            tensor = object.__new__(_Tensor)
            tensor.__dict__.update(index=index, name=name, shape=shape, dtype=dtype, quant=quant, data=data)
            self.tensors.append(tensor)
        return index

    def activation(self, name: str, shape: tuple[int, ...], relu6: bool = False) -> int:
        return self._tensor(name, shape, _INT8, _RELU6_QUANT if relu6 else _ACTIVATION_QUANT)

    def _parameter(self, name: str, shape: tuple[int, ...], dtype: DType, quant: Quantization) -> int:
        self.parameters += math.prod(shape)
        return self._tensor(name, shape, dtype, quant, _ones(shape, _NUMPY_NAME[dtype]) if self.materialize else None)

    def _operator(self, signature: tuple, inputs: tuple[int, ...], output: int, options: Mapping[str, Any]) -> int:
        if self.materialize:  # (the frozen dataclass's __init__, in one dict update, as for tensors)
            operator = object.__new__(Operator)
            operator.__dict__.update(
                index=len(self.operators), opcode=signature[0], inputs=inputs, outputs=(output,), options=options
            )
            self.operators.append(operator)
        self.signatures.append(signature)
        return output

    def shape(self, index: int) -> tuple[int, ...]:
        return self.shapes[index]

    def conv(self, x: int, filters: int, kernel: int, stride: int, relu6: bool, name: str) -> int:
        _, h, w, c = self.shape(x)
        out_h = same_or_valid_padding("SAME", h, kernel, stride, 1)[0]
        out_w = out_h if w == h else same_or_valid_padding("SAME", w, kernel, stride, 1)[0]
        quant = _per_channel(filters, 0)
        weights = self._parameter(f"{name}/filter", (filters, kernel, kernel, c), _INT8, quant)
        bias = self._parameter(f"{name}/bias", (filters,), _INT32, quant)
        y = self.activation(name, (1, out_h, out_w, filters), relu6)
        options = _conv_options(_SAME, stride, relu6, False)
        return self._operator(("CONV_2D", (h, w, c), filters, kernel, stride, relu6), (x, weights, bias), y, options)

    def depthwise(self, x: int, kernel: int, stride: int, name: str) -> int:
        _, h, w, c = self.shape(x)
        out_h = same_or_valid_padding("SAME", h, kernel, stride, 1)[0]
        out_w = out_h if w == h else same_or_valid_padding("SAME", w, kernel, stride, 1)[0]
        weights = self._parameter(f"{name}/filter", (1, kernel, kernel, c), _INT8, _per_channel(c, _DEPTHWISE_AXIS))
        bias = self._parameter(f"{name}/bias", (c,), _INT32, _per_channel(c, 0))
        y = self.activation(name, (1, out_h, out_w, c), relu6=True)
        options = _conv_options(_SAME, stride, True, True)
        return self._operator(("DEPTHWISE_CONV_2D", (h, w, c), kernel, stride), (x, weights, bias), y, options)

    def add(self, a: int, b: int, name: str) -> int:
        y = self.activation(name, self.shape(a))
        return self._operator(("ADD", self.shape(a)), (a, b), y, _ADD_OPTIONS)

    def global_mean(self, x: int, name: str) -> int:
        axes = self._tensor(f"{name}/axes", (2,), _INT32, None, _MEAN_AXES)
        y = self.activation(name, (1, self.shape(x)[3]))
        return self._operator(("MEAN", self.shape(x)), (x, axes), y, _MEAN_OPTIONS)

    def fully_connected(self, x: int, units: int, name: str) -> int:
        depth = self.shape(x)[-1]
        quant = _per_channel(units, 0)
        weights = self._parameter(f"{name}/filter", (units, depth), _INT8, quant)
        bias = self._parameter(f"{name}/bias", (units,), _INT32, quant)
        y = self.activation(name, (1, units))
        return self._operator(("FULLY_CONNECTED", depth, units), (x, weights, bias), y, _FC_OPTIONS)

    def graph(self, inputs: tuple[int, ...], outputs: tuple[int, ...]) -> Graph | None:
        """The frozen graph, or None when only signatures were recorded."""
        if not self.materialize:
            return None
        return Graph(tuple(self.tensors), tuple(self.operators), inputs, outputs, self.source)


@functools.lru_cache(maxsize=64)
def _conv_options(padding: int, stride: int, relu6: bool, depthwise: bool) -> Mapping[str, Any]:
    """Options as the reader gives them for a converted conv (shared and read-only)."""
    options = {
        "dilationHFactor": 1,
        "dilationWFactor": 1,
        "fusedActivationFunction": _RELU6 if relu6 else _NONE,
        "padding": padding,
        "strideH": stride,
        "strideW": stride,
    }
    if depthwise:
        options["depthMultiplier"] = 1
    return MappingProxyType(options)


@dataclasses.dataclass(frozen=True)
class _Fragment:
    """What one block adds to a :class:`SubnetGraph` (objects shared by every graph that has it)."""

    shapes: tuple[tuple[int, ...], ...]
    tensors: tuple[Tensor, ...]
    operators: tuple[Operator, ...]
    signatures: tuple[Hashable, ...]
    parameters: int
    output: int

    @classmethod
    def recorded(cls, builder: SubnetGraph, build: Callable[[SubnetGraph], int]) -> "_Fragment":
        """Run ``build`` on ``builder`` and record what it added."""
        marks = len(builder.shapes), len(builder.tensors), len(builder.operators), len(builder.signatures)
        parameters = builder.parameters
        output = build(builder)
        return cls(
            tuple(builder.shapes[marks[0] :]),
            tuple(builder.tensors[marks[1] :]),
            tuple(builder.operators[marks[2] :]),
            tuple(builder.signatures[marks[3] :]),
            builder.parameters - parameters,
            output,
        )

    def add_to(self, builder: SubnetGraph) -> int:
        builder.shapes.extend(self.shapes)
        if builder.materialize:
            builder.tensors.extend(self.tensors)
            builder.operators.extend(self.operators)
        builder.signatures.extend(self.signatures)
        builder.parameters += self.parameters
        return self.output


#: Recent pieces (blocks, the stem, the tail) by what they depend on, where their tensors
#: and operators start, and whether they were materialised: a search over one (W, R)
#: space meets a few thousand.
_FRAGMENTS: dict[tuple, _Fragment] = {}
_FRAGMENTS_MAX = 8192
_FRAGMENTS_LOCK = threading.Lock()


def forget_shared_pieces() -> None:
    """Empty the memo of recent pieces (a benchmark starting cold, a test building fresh objects)."""
    with _FRAGMENTS_LOCK:
        _FRAGMENTS.clear()


def _shared(builder: SubnetGraph, what: Hashable, build: Callable[[SubnetGraph], int]) -> int:
    """Add what ``build`` adds, sharing the objects of an identical recent piece; ``what``
    holds everything ``build`` depends on besides where the piece starts."""
    key = (what, len(builder.shapes), len(builder.operators), builder.materialize)
    fragment = _FRAGMENTS.get(key)
    if fragment is not None:
        return fragment.add_to(builder)
    fragment = _Fragment.recorded(builder, build)
    with _FRAGMENTS_LOCK:
        if len(_FRAGMENTS) >= _FRAGMENTS_MAX:
            del _FRAGMENTS[next(iter(_FRAGMENTS))]
        _FRAGMENTS[key] = fragment
    return fragment.output


def _block(builder: SubnetGraph, x: int, spec: BlockSpec) -> int:
    """An inverted-residual block."""
    return _shared(builder, (spec, builder.shapes[x], x), lambda b: _build_block(b, x, spec))


def _build_block(builder: SubnetGraph, x: int, spec: BlockSpec) -> int:
    y = x
    if spec.has_expand:
        y = builder.conv(y, spec.hidden_channels, 1, 1, True, f"{spec.name}/expand")
    y = builder.depthwise(y, spec.kernel_size, spec.stride, f"{spec.name}/depthwise")
    y = builder.conv(y, spec.out_channels, 1, 1, False, f"{spec.name}/project")
    return builder.add(x, y, f"{spec.name}/add") if spec.residual else y


@dataclasses.dataclass(frozen=True, eq=False)
class BuiltSubnet:
    #: None when built with ``materialize=False``
    graph: Graph | None
    #: weights and biases of the int8 model (conv/BN folded), i.e. the deployed parameter count
    params: int
    #: one hashable per operator: equal signatures give equal plans (used to memoise planning)
    signatures: tuple[Hashable, ...]


def build_subnet_graph(config: ArchConfig, space: SearchSpace, *, materialize: bool = True) -> BuiltSubnet:
    """The engine graph of the int8 model the converter would make from the extracted sub-network.

    ``materialize=False`` records only the operator signatures and the parameter count.
    """
    plan = blueprint(config, space)
    builder = SubnetGraph(f"<subnet W={config.width:g} R={config.resolution}>", materialize)
    x = _shared(builder, ("stem", plan.resolution, plan.stem_channels), functools.partial(_build_stem, plan=plan))
    image = 0  # (the stem starts the graph with the image tensor)
    for spec in plan.blocks:
        x = _block(builder, x, spec)
    what = ("tail", builder.shapes[x], x, plan.head_channels, plan.num_classes)
    logits = _shared(builder, what, lambda b: _build_tail(b, x, plan))
    return BuiltSubnet(builder.graph((image,), (logits,)), builder.parameters, tuple(builder.signatures))


def _build_stem(builder: SubnetGraph, plan: Blueprint) -> int:
    image = builder.activation("image", (1, plan.resolution, plan.resolution, 3))
    return builder.conv(image, plan.stem_channels, STEM_KERNEL, STEM_STRIDE, True, "stem")


def _build_tail(builder: SubnetGraph, x: int, plan: Blueprint) -> int:
    x = builder.conv(x, plan.head_channels, 1, 1, True, "head")
    x = builder.global_mean(x, "pool")
    return builder.fully_connected(x, plan.num_classes, "classifier")
