"""Our layer-wise memory plan exported to stock TFLite Micro (OfflineMemoryAllocation metadata)."""

from __future__ import annotations

import pytest

from tests.model_factory import convert_int8, keras
from tests.shared_assets import MODEL_NAMES, shared_model
from tflm_backend.side_by_side import random_model_inputs
from tflm_backend.tflm_runner import TflmModel
from tinyengine_gen.memory.offline_plan import OFFLINE_PLAN_METADATA, embed_offline_plan, offline_offsets
from tinyengine_gen.frontend.reader import read_model_bytes
from tinyengine_gen.frontend.schema import schema


def _check_tflm_with_plan(model: bytes, cases: int = 3) -> tuple[int, int]:
    planned = embed_offline_plan(model)
    plain_tflm, planned_tflm = TflmModel(model), TflmModel(planned)
    for case in random_model_inputs(plain_tflm.input_details, cases, seed=1):
        for a, b in zip(plain_tflm.run(case), planned_tflm.run(case)):
            assert a.tobytes() == b.tobytes()
    first = random_model_inputs(plain_tflm.input_details, 1, seed=2)[0]
    return plain_tflm.arena_bytes(first), planned_tflm.arena_bytes(first)


def test_metadata_carries_one_offset_per_tensor():
    def build():
        inputs = keras.Input((10, 10, 3), batch_size=1)
        x = keras.layers.Conv2D(8, 3, activation="relu")(inputs)
        return keras.Model(inputs, keras.layers.DepthwiseConv2D(3)(x))

    model = convert_int8(build)
    planned = embed_offline_plan(model)
    root = schema.Model.GetRootAs(planned, 0)
    names = [root.Metadata(i).Name().decode() for i in range(root.MetadataLength())]
    assert OFFLINE_PLAN_METADATA in names
    entry = root.Metadata(names.index(OFFLINE_PLAN_METADATA))
    values = root.Buffers(entry.Buffer()).DataAsNumpy().view("<i4")
    graph = read_model_bytes(model)
    assert values[:3].tolist() == [1, 0, len(graph.tensors)]
    assert values[3:].tolist() == offline_offsets(graph)
    constants = [t.index for t in graph.tensors if t.is_constant]
    assert all(values[3 + i] == -1 for i in constants)
    again = schema.Model.GetRootAs(embed_offline_plan(planned), 0)
    assert [again.Metadata(i).Name().decode() for i in range(again.MetadataLength())].count(OFFLINE_PLAN_METADATA) == 1
    before, after = _check_tflm_with_plan(model)
    assert after <= before


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_tflm_runs_shared_models_with_our_plan_identically_and_no_larger(name):
    before, after = _check_tflm_with_plan(shared_model(name).read_bytes(), cases=2)
    assert after <= before
