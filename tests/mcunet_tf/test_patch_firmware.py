"""A searched sub-network compiled with the schedule the cost model priced, as firmware for
mps2-an500, runs under QEMU with TFLite Micro's output bytes (MCUNetV2's joint schedule,
end to end: cost model -> exported int8 file -> patch-based C -> Cortex-M)."""

from __future__ import annotations

import numpy as np
import pytest

from mcunet_tf.cost_model import CostModel, patch_options
from mcunet_tf.sampling import sample_arch
from mcunet_tf.space import SearchSpace
from tests.tinyengine_gen.firmware._firmware_models import require_qemu

SPACE = SearchSpace(num_classes=10)
PATCH = patch_options("auto", max_overhead=0.2)


@pytest.mark.slow
def test_patched_subnet_firmware_matches_tflm_under_qemu(tmp_path):
    require_qemu()
    from mcunet_tf.extract import extract_subnet
    from mcunet_tf.supernet import Supernet
    from tests.mcunet_tf._subnets import convert_subnet_int8, randomize_supernet
    from tflm_backend.tflm_runner import TflmModel
    from tinyengine_gen.codegen.project import generate
    from tinyengine_gen.firmware.build import FirmwareOptions, write_firmware_project
    from tinyengine_gen.firmware.qemu import check_firmware
    from tinyengine_gen.frontend.reader import read_model_bytes

    rng = np.random.default_rng(18)
    supernet = Supernet(SPACE, 0.3)
    randomize_supernet(supernet, rng)
    model = CostModel(SPACE, options=PATCH)
    for _ in range(8):  # the first config whose priced schedule is patch-based
        config = sample_arch(SPACE, rng, width=0.3, resolution=80)
        priced = model.price(config)
        decision = priced.compiled.patch_decision
        if decision.stage is not None:
            break
    else:
        pytest.fail("no patch-based schedule among the sampled sub-networks")
    flatbuffer = convert_subnet_int8(extract_subnet(supernet, config), config.resolution, rng)
    project = generate(read_model_bytes(flatbuffer, source="subnet.tflite"), PATCH)
    schedule = project.report["patch"]
    assert schedule["schedule"] == "patch-based"
    assert schedule["grid"] == list(decision.stage.grid) and schedule["mac_overhead"] == decision.mac_overhead
    assert project.report["peak_sram_bytes"] == priced.cost.peak_sram_bytes
    build = write_firmware_project(project, tmp_path / "fw", FirmwareOptions(board="mps2-an500", cases=2, seed=3))
    check = check_firmware(build, tflm=TflmModel(flatbuffer).run, timeout_s=300)
    assert check.compared_with == ("TFLM", "host build") and len(check.outputs) == 2
