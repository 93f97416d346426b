"""The in-place rewrite: which ops may write over their input, and which size-changing ones pay.

Checked against a plain restatement of the rule on a model where some expansions read a
tensor that a later ADD still needs (those must stay out of place) and others do not.
"""

from __future__ import annotations

import dataclasses

import pytest

from tests.model_factory import convert_int8, keras
from tinyengine_gen.memory import lifetimes
from tinyengine_gen.compiler import CompileOptions, compile_graph
from tinyengine_gen.passes.in_place import with_in_place_kernels
from tinyengine_gen.frontend.reader import read_model_bytes


def _residual_blocks():
    inputs = keras.Input((16, 16, 8), batch_size=1)
    x = keras.layers.Conv2D(8, 3, padding="same", activation="relu6")(inputs)
    for expand in (4, 6):  # the expansion reads x, which the ADD reads later
        y = keras.layers.Conv2D(8 * expand, 1, activation="relu6")(x)
        y = keras.layers.DepthwiseConv2D(3, padding="same", activation="relu6")(y)
        y = keras.layers.Conv2D(8, 1)(y)
        x = keras.layers.Add()([x, y])
    y = keras.layers.Conv2D(16, 1, activation="relu6")(x)
    z = keras.layers.DepthwiseConv2D(3, padding="same", activation="relu6")(y)
    x = keras.layers.Add()([y, z])  # reads y after the depthwise: it must not write over y
    # nothing reads x after this expansion; the wide projection input is the peak, which
    # writing the projection over it lowers (a size-changing variant that pays)
    y = keras.layers.Conv2D(64, 1, activation="relu6")(x)
    y = keras.layers.DepthwiseConv2D(3, padding="same", activation="relu6")(y)
    y = keras.layers.Conv2D(16, 1)(y)
    y = keras.layers.GlobalAveragePooling2D()(y)
    return keras.Model(inputs, keras.layers.Dense(4)(y))


@pytest.fixture(scope="module")
def compiled():
    graph = read_model_bytes(convert_int8(_residual_blocks), "residual_blocks.tflite")
    return compile_graph(graph, CompileOptions(int8_input=True))


def _undone(plans, steps) -> tuple:
    return tuple(dataclasses.replace(p, in_place=False) if s in steps else p for s, p in enumerate(plans))


def _in_place_steps(plans) -> list[int]:
    return [s for s, p in enumerate(plans) if getattr(p, "in_place", False)]


def test_ops_write_only_over_storage_nothing_reads_later(compiled):
    graph, plans = compiled.graph, compiled.plans
    steps = _in_place_steps(plans)
    assert len(steps) >= 3, "the model should run several ops in place"
    caller_owned = set(graph.inputs) | set(graph.outputs)
    for step in steps:
        # the storage group of the overwritten input, as the ops before this one left it
        owners = lifetimes.alias_owners(plans[:step] + (_undone(plans, {step})[step],))
        owner = owners.get(plans[step].inputs[0], plans[step].inputs[0])
        tensors = {t for p in plans for t in p.inputs + p.outputs}
        group = {t for t in tensors if owners.get(t, t) == owner}
        read_later = {t for p in plans[step + 1 :] for t in p.inputs}
        assert not group & read_later, f"step {step} overwrote a tensor read later"
        assert not group & caller_owned
        assert not group & set(plans[step].inputs[1:])


def test_an_input_an_add_still_needs_is_not_overwritten(compiled):
    plans = compiled.plans
    needed = [
        s
        for s, p in enumerate(plans)
        if hasattr(p, "in_place_variant") and any(p.inputs[0] in later.inputs for later in plans[s + 1 :])
    ]
    assert len(needed) >= 3, "the expansions read x, the depthwise y, which an ADD reads later"
    assert not any(plans[s].in_place for s in needed)


def test_the_rewrite_is_repeatable_and_size_changing_variants_only_shrink_the_arena(compiled):
    graph, plans = compiled.graph, compiled.plans
    plain = _undone(plans, set(_in_place_steps(plans)))
    rewritten = with_in_place_kernels(graph, plain)
    assert [getattr(p, "in_place", False) for p in rewritten] == [getattr(p, "in_place", False) for p in plans]
    size = lifetimes.tensor_sizes(graph)
    resizing = {s for s in _in_place_steps(rewritten) if any(size(o) != size(i) for o, i in rewritten[s].aliases)}
    # by construction: the schedule without them is the first candidate, and one is kept
    # only where the arena gets strictly smaller
    assert resizing, "the last projection should be written over its wider input"
    without = lifetimes.memory_plan(graph, _undone(rewritten, resizing)).arena_bytes
    assert lifetimes.memory_plan(graph, rewritten).arena_bytes < without
    assert lifetimes.memory_plan(graph, rewritten).arena_bytes <= lifetimes.memory_plan(graph, plain).arena_bytes
