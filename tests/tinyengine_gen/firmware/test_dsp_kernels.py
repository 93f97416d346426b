"""DSP (SIMD) kernels: the same outputs as the portable kernels, TFLM and the host build.

The firmware's ``simd`` kernels use the Armv7E-M DSP instructions (SMLAD, SXTB16, SMLABB,
SMMLAR, SSAT) with te_requantize_fast and te_requantize_rq; ``portable`` builds with
-DTE_NO_DSP. Under QEMU both must give TFLM's outputs byte for byte, on layers shaped to
reach every DSP path and its tails (odd channel counts, partial tiles, stride 2, filters
3/5/7, dilation, per-tensor and per-channel weights, ReLU6 clamps, residual ADDs, the
requantisation with and without te_requantize_rq), and the SIMD build must execute fewer
instructions (counts are deterministic under -icount).
"""

from __future__ import annotations

import dataclasses
import re
import shutil
import subprocess

import pytest

from tests.model_factory import convert_int8, keras
from tests.shared_assets import shared_model
from tests.tinyengine_gen.firmware._firmware_models import require_qemu
from tflm_backend.tflm_runner import TflmModel
from tinyengine_gen.codegen.kernel_config import CONFIG_HEADER
from tinyengine_gen.compiler import CompileOptions
from tinyengine_gen.firmware.build import FirmwareOptions, write_firmware_project
from tinyengine_gen.firmware.qemu import check_firmware
from tinyengine_gen.codegen.project import generate, generate_from_file
from tinyengine_gen.frontend.reader import read_model_bytes

KERNELS_DIR = __import__("pathlib").Path(__file__).resolve().parents[3] / "tinyengine_gen" / "kernels"

_REQUANTIZE_CHECK = r"""
#include <stdio.h>
#include "te_fixedpoint.h"
static uint64_t state = 88172645463325252ull;
static uint32_t next(void) { state ^= state << 13; state ^= state >> 7; state ^= state << 17; return (uint32_t)(state >> 11); }
int main(void) {
  static const int32_t edge[] = {0, 1, -1, 2, -2, INT32_MAX, INT32_MIN, INT32_MIN + 1, INT32_MAX - 1, 1 << 30,
                                 -(1 << 30), (1 << 30) + 1, -(1 << 30) - 1, 12345, -12345};
  long bad = 0, n = 0;
  for (int i = 0; i < 15; ++i)
    for (int j = 0; j < 15; ++j)
      for (int s = -31; s <= 30; ++s, ++n) {
        if (edge[j] == INT32_MIN) continue; /* the documented precondition */
        bad += te_requantize(edge[i], edge[j], s) != te_requantize_fast(edge[i], edge[j], s);
      }
  for (long k = 0; k < 3000000; ++k, ++n) {
    const uint32_t r = next();
    int32_t x = (int32_t)next();
    if (r & 1) x >>= next() % 31;
    const int32_t m = (r & 2) ? (int32_t)((1u << 30) | (next() & 0x3fffffff)) : (int32_t)(next() & 0x7fffffff);
    const int s = (r & 4) ? (int)(next() % 12) - 11 : (int)(next() % 62) - 31;
    bad += te_requantize(x, m, s) != te_requantize_fast(x, m, s);
  }
  printf("checked %ld mismatches %ld\n", n, bad);
  return bad != 0;
}
"""


_REQUANTIZE_RQ_CHECK = r"""
#include <stdio.h>
#include "te_fixedpoint.h"
static uint64_t state = 2463534242ull;
static uint32_t next(void) { state ^= state << 13; state ^= state >> 7; state ^= state << 17; return (uint32_t)(state >> 11); }
/* te_requantize_rq against te_requantize + offset wherever its preconditions hold. */
static long check(int32_t acc, int32_t m, int e, int32_t offset, long* n) {
  const int64_t round = (int64_t)(2 * offset + 1) * ((int64_t)1 << (e - 1));
  const int64_t bound = acc < 0 ? -(int64_t)acc : acc;
  if (bound >= (1 << 30) || (round < 0 ? -round : round) + bound + 2 >= ((int64_t)1 << 31)) return 0;
  ++*n;
  return te_requantize_rq(acc, m, te_rq_round(e, offset), e) != te_requantize(acc, m, -e) + offset;
}
int main(void) {
  static const int32_t edge[] = {0, 1, -1, 2, -2, (1 << 30) - 1, -(1 << 30) + 1, 12345, -12345, 1 << 20, -(1 << 20)};
  static const int32_t mult[] = {1 << 30, (1 << 30) + 1, 2147483647, 1518500250, 0, 1};
  long bad = 0, n = 0;
  for (int i = 0; i < 11; ++i)
    for (int j = 0; j < 6; ++j)
      for (int e = 1; e <= 31; ++e)
        for (int32_t offset = -128; offset <= 127; offset += 17) bad += check(edge[i], mult[j], e, offset, &n);
  for (long k = 0; k < 3000000; ++k) {
    const uint32_t r = next();
    const int32_t acc = ((int32_t)next() >> 2) >> (next() % 30);
    const int32_t m = (r & 1) ? (int32_t)((1u << 30) | (next() & 0x3fffffff)) : (int32_t)(next() & 0x7fffffff);
    bad += check(acc, m, 1 + (int)(next() % 24), (int32_t)(next() % 256) - 128, &n);
  }
  printf("checked %ld mismatches %ld\n", n, bad);
  return bad != 0 || n < 2000000;
}
"""


_QUANTIZE_CHECK = r"""
#include <stdio.h>
#include <string.h>
#include "te_quantize.h"
/* TFLM's AffineQuantize (std::round, then the zero point and the clamp), saturating where
 * its float -> int cast is undefined, as te_quantize_f32_s8 documents. */
static int8_t reference(float quotient, int32_t zero_point) {
  const float low = (float)(-128 - zero_point), high = (float)(127 - zero_point);
  if (!(quotient > low && quotient < high)) return quotient >= high ? 127 : -128;
  const int32_t whole = (int32_t)quotient;
  const float fraction = quotient - (float)whole;
  return (int8_t)(whole + (fraction >= 0.5f) - (fraction <= -0.5f) + zero_point);
}
#define BATCH 4096
static float input[BATCH];
static int8_t output[BATCH];
static long bad = 0, n = 0;
static void run(int count, int32_t zero_point) {
  const te_quantize_params p = {count, 1.0f, zero_point}; /* x / 1 is x: every quotient reachable */
  te_quantize_f32_s8(&p, input, output);
  for (int i = 0; i < count; ++i, ++n) bad += output[i] != reference(input[i], zero_point);
}
int main(void) {
  static const int32_t zero_points[] = {-128, -3, 0, 1, 127};
  static const uint32_t specials[] = {0x7f800000u, 0xff800000u, 0x7fc00000u, 0xffc00000u, 0x7f7fffffu, 0x4f000000u,
                                      0xcf000000u, 0x43800000u, 0xc3800000u, 0x437fffffu, 0xc37fffffu, 0x00000001u};
  for (int z = 0; z < 5; ++z) {
    int count = 0;
    for (int k = 0; k < 12; ++k) memcpy(&input[count++], &specials[k], 4);
    for (int h = -600; h <= 600; ++h) { /* the halves k + 1/2 and their neighbours */
      uint32_t bits;
      input[count] = (float)h + 0.5f;
      memcpy(&bits, &input[count], 4);
      ++count;
      bits += 1, memcpy(&input[count++], &bits, 4);
      bits -= 2, memcpy(&input[count++], &bits, 4);
      if (count > BATCH - 3) run(count, zero_points[z]), count = 0;
    }
    run(count, zero_points[z]), count = 0;
    for (uint32_t b = 0; b < 0x44800000u; b += 37) { /* |x| below 1024, both signs */
      const uint32_t both[2] = {b, b | 0x80000000u};
      memcpy(&input[count], both, 8);
      count += 2;
      if (count == BATCH) run(count, zero_points[z]), count = 0;
    }
    run(count, zero_points[z]);
  }
  printf("checked %ld mismatches %ld\n", n, bad);
  return bad != 0;
}
"""


def _run_host_check(tmp_path, program: str, sources: tuple[str, ...] = ()) -> None:
    compiler = shutil.which("cc") or shutil.which("gcc")
    if compiler is None:
        pytest.skip("no host C compiler")
    source = tmp_path / "check.c"
    source.write_text(program)
    binary = tmp_path / "check"
    kernels = [str(KERNELS_DIR / name) for name in sources]
    subprocess.run([compiler, "-std=c99", "-O2", "-fsanitize=undefined,float-cast-overflow", "-fno-sanitize-recover",
                    f"-I{KERNELS_DIR}", str(source), *kernels, "-o", str(binary)], check=True)  # fmt: skip
    result = subprocess.run([str(binary)], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0 and "mismatches 0" in result.stdout, result.stdout + result.stderr


def test_requantize_fast_equals_te_requantize_on_the_host(tmp_path):
    _run_host_check(tmp_path, _REQUANTIZE_CHECK)


def test_requantize_rq_equals_te_requantize_where_the_planner_allows_it(tmp_path):
    """The C twin of SMMLAR (the host build's te_smmlar) in te_requantize_rq's formula."""
    _run_host_check(tmp_path, _REQUANTIZE_RQ_CHECK)


def test_quantize_rounds_like_tflm_on_every_small_quotient(tmp_path):
    """te_quantize_f32_s8's fixed-point rounding (trunc(q * 2^16), then a shift) against
    std::round: halves and their neighbours, a sweep of |q| < 1024, infinities, NaN and
    quotients too large for an int32, at the extreme zero points."""
    _run_host_check(tmp_path, _QUANTIZE_CHECK, ("te_quantize.c",))


def _dsp_paths_model() -> bytes:
    """Odd channel counts and depth tails through every conv core, depthwise and FC."""

    def build():
        inputs = keras.Input((9, 9, 3), batch_size=1)
        x = keras.layers.Conv2D(6, 3, padding="same", activation="relu")(inputs)  # narrow (few channels)
        x = keras.layers.Conv2D(35, 1, activation="relu")(x)  # 1x1 shallow, two blocks, odd
        x = keras.layers.DepthwiseConv2D(3, padding="same", activation="relu")(x)  # channel quads + tail 3
        x = keras.layers.Conv2D(17, 3, padding="same")(x)  # kxk (im2col): depth 315 (tail 3), odd channels
        x = keras.layers.Conv2D(53, 1, activation="relu")(x)  # 1x1 shallow: depth 17 -> 18
        x = keras.layers.Conv2D(13, 1, strides=2)(x)  # 1x1 deep: depth 53 (tail 1), 25 pixels (tail 1)
        x = keras.layers.DepthwiseConv2D(5, strides=2, padding="same")(x)  # 13 channels: 3 quads + 1
        x = keras.layers.Flatten()(x)
        return keras.Model(inputs, keras.layers.Dense(5)(x))  # FC depth 117 (tail 1)

    return convert_int8(build)


def _more_dsp_paths_model(per_channel: bool = True) -> bytes:
    """The DSP paths te_conv2d_gemm.h and te_depthwise_rows.h choose by shape: the narrow
    kernel's im2col (3x3x3, a constant-depth case) and pointwise tiles, 1x1 layers on the
    gathered-group path at depths 8, 40 and 48, the deep core on 3, 2 and 1 pixel tiles,
    depthwise pairs and single pixels (stride 1 and 2, 3x3 and 7x7, an odd width), a
    dilated depthwise (the portable loop), residual ADDs on the shallow (in groups, and in
    one group of every channel) and deep cores, and
    ReLU6 clamps narrower than int8 (the general variants)."""

    def build():
        inputs = keras.Input((11, 13, 3), batch_size=1)
        x = keras.layers.Conv2D(16, 3, strides=2, padding="same", activation="relu6")(inputs)  # narrow, 6x7
        x = keras.layers.DepthwiseConv2D(3, padding="same", activation="relu")(x)  # pairs + one single pixel
        x = keras.layers.Conv2D(8, 1)(x)  # narrow pointwise: 42 pixels, dense tiles and a partial one
        x = keras.layers.Conv2D(48, 1, activation="relu")(x)  # 1x1 shallow, depth 8: one group of 48
        x = keras.layers.DepthwiseConv2D(7, padding="same")(x)  # 7x7 stride 1
        x = keras.layers.DepthwiseConv2D(3, strides=2, padding="same", activation="relu6")(x)  # 3x4, singles
        r = keras.layers.Conv2D(40, 1)(x)  # 1x1 shallow, depth 48
        y = keras.layers.Conv2D(40, 1)(keras.layers.Conv2D(40, 1, activation="relu")(r))  # depth 40
        x = keras.layers.Add()([r, y])  # residual on the shallow core
        x = keras.layers.DepthwiseConv2D(3, dilation_rate=2, padding="same")(x)  # dilated: portable loop
        h = keras.layers.Conv2D(96, 1, activation="relu")(x)
        x = keras.layers.Add()([x, keras.layers.Conv2D(40, 1)(h)])  # residual on the deep core (depth 96)
        x = keras.layers.Conv2D(100, 1)(x)  # 1x1 deep on 12 pixels
        x = keras.layers.Conv2D(24, 2, padding="valid")(x)  # kxk deep, 2x3 = 6 pixels: tiles of 4 and 2
        t = keras.layers.Conv2D(16, 1)(x)
        x = keras.layers.Add()([t, keras.layers.Conv2D(16, 1)(keras.layers.Conv2D(8, 1, activation="relu")(t))])
        # ^ residual on the shallow core whose one group is every channel (the ADD once per tile)
        x = keras.layers.Flatten()(x)
        return keras.Model(inputs, keras.layers.Dense(3)(x))

    return convert_int8(build, per_channel=per_channel)


def _stem_paths_model() -> bytes:
    """The narrow kernel's stem paths: 3x3 on 3 channels (the receptive field assembled
    straight into the tile where it lies inside the image, the border im2col elsewhere),
    SAME stride 2 and VALID stride 1, an odd channel count (a zero channel pads the pair),
    1 and 4 input channels (the word-copy gather), partial tiles of 16 pixels."""

    def build():
        inputs = keras.Input((12, 14, 3), batch_size=1)
        a = keras.layers.Conv2D(8, 3, strides=2, padding="same")(inputs)  # 6x7 = 42 pixels
        b = keras.layers.Conv2D(5, 3, padding="valid", activation="relu")(inputs)  # 10x12, out_c 5
        one = keras.layers.Conv2D(1, 1)(inputs)  # 1x1 on 3 channels (depth 4, gathered)
        c = keras.layers.Conv2D(6, 3, padding="same", activation="relu6")(one)  # in_c 1: depth 12
        four = keras.layers.Conv2D(4, 1)(inputs)
        d = keras.layers.Conv2D(16, 3, strides=2, padding="valid")(four)  # in_c 4: depth 36
        flat = [keras.layers.Flatten()(t) for t in (a, b, c, d)]
        return keras.Model(inputs, keras.layers.Dense(4)(keras.layers.Concatenate()(flat)))

    return convert_int8(build)


def test_simd_and_portable_identical_to_tflm_on_the_stem_paths(tmp_path):
    require_qemu()
    model = _stem_paths_model()
    project = generate(read_model_bytes(model, source="stem_paths.tflite"))
    calls = project.files["model.c"].count("te_conv2d_narrow_s8(&params")
    assert calls >= 5, calls  # every convolution of the model runs on the narrow kernel
    results = _run_both(project, TflmModel(model).run, tmp_path, cases=2)
    for check in results.values():
        assert check.compared_with == ("TFLM", "host build")
    assert results["simd"].run.outputs == results["portable"].run.outputs


def _lean_conv_model() -> bytes:
    """A 3x3 convolution on 16 channels at the memory peak: the planner's lean variant runs
    it on the shallow core with a 144-value receptive field, in parts in DSP builds."""

    def build():
        inputs = keras.Input((9, 9, 16), batch_size=1)
        return keras.Model(inputs, keras.layers.Conv2D(16, 3, padding="same")(inputs))

    return convert_int8(build)


def _run_both(project, model_runner, tmp_path, cases=1):
    results = {}
    for kernels in ("portable", "simd"):
        options = FirmwareOptions(board="mps2-an500", layout="qemu", kernels=kernels, cases=cases, seed=3)
        build = write_firmware_project(project, tmp_path / kernels, options)
        results[kernels] = check_firmware(build, tflm=model_runner, timeout_s=120)
    return results


def test_simd_and_portable_identical_to_tflm_on_every_dsp_path(tmp_path):
    require_qemu()
    model = _dsp_paths_model()
    project = generate(read_model_bytes(model, source="dsp_paths.tflite"))
    kernels = {op.get("kernel") for op in project.report["ops"]} | set(project.files)
    results = _run_both(project, TflmModel(model).run, tmp_path, cases=2)
    for kernel in ("kernels/te_conv2d_narrow.c", "kernels/te_depthwise_rows.h", "kernels/te_fully_connected.c"):
        assert kernel in kernels, kernel
    assert any(k in kernels for k in ("kernels/te_conv2d_kxk.c", "kernels/te_conv2d_kxk_shallow.c"))
    assert any(k in kernels for k in ("kernels/te_conv2d_1x1.c", "kernels/te_conv2d_1x1_inplace.c"))
    assert any(k in kernels for k in ("kernels/te_conv2d_1x1_shallow.c", "kernels/te_conv2d_1x1_shallow_inplace.c"))
    for check in results.values():
        assert check.compared_with == ("TFLM", "host build")
    assert results["simd"].run.outputs == results["portable"].run.outputs


def _channel_pairs_model() -> bytes:
    """Depthwise layers large enough for te_depthwise_pairs.h: 6 channels (a last pair past
    the last four), odd widths (a lone last pixel), 3x3 and 5x5 stride 1, 7x7 stride 2, a
    ReLU6 clamp narrower than int8."""

    def build():
        inputs = keras.Input((15, 17, 3), batch_size=1)
        x = keras.layers.Conv2D(6, 1)(inputs)  # (a depthwise layer on the model input would run without its ring)
        x = keras.layers.DepthwiseConv2D(3, padding="same", activation="relu6")(x)
        x = keras.layers.DepthwiseConv2D(7, strides=2, padding="same")(x)  # 8x9
        x = keras.layers.DepthwiseConv2D(5, padding="same", activation="relu")(x)
        x = keras.layers.Flatten()(x)
        return keras.Model(inputs, keras.layers.Dense(3)(x))

    return convert_int8(build)


def test_channel_pair_depthwise_identical_to_tflm_simd_and_portable(tmp_path):
    require_qemu()
    model = _channel_pairs_model()
    assert "TE_DW_PAIRS_DEFINE(" not in generate(read_model_bytes(model, source="channel_pairs.tflite")).files["model.c"]
    project = generate(read_model_bytes(model, source="channel_pairs.tflite"), CompileOptions(prefer="speed"))
    model_c = project.files["model.c"]
    for name in ("te_depthwise_pairs_3x3_s1", "te_depthwise_pairs_7x7_s2", "te_depthwise_pairs_5x5_s1"):
        assert f"TE_DW_PAIRS_DEFINE({name}," in model_c, name
    results = _run_both(project, TflmModel(model).run, tmp_path, cases=2)
    for check in results.values():
        assert check.compared_with == ("TFLM", "host build")
    assert results["simd"].run.outputs == results["portable"].run.outputs


def _plane_model() -> bytes:
    """Depthwise layers on te_depthwise_plane.h: 3x3 stride 1 17 outputs wide (four-pixel
    steps, then a lone pixel), 5x5 stride 2 (pixel pairs, odd width), 7x7 stride 1 9 wide
    (two steps of four, a lone pixel), 5x5 valid; 8 channels, each plane no larger than
    the row ring."""

    def build():
        inputs = keras.Input((18, 17, 3), batch_size=1)
        x = keras.layers.Conv2D(8, 1)(inputs)  # (a depthwise layer on the model input would run without its ring)
        x = keras.layers.DepthwiseConv2D(3, padding="same", activation="relu")(x)
        x = keras.layers.DepthwiseConv2D(5, strides=2, padding="same")(x)  # 9x9
        x = keras.layers.DepthwiseConv2D(7, padding="same", activation="relu6")(x)
        x = keras.layers.DepthwiseConv2D(5, padding="valid")(x)  # 5x5
        x = keras.layers.Flatten()(x)
        return keras.Model(inputs, keras.layers.Dense(3)(x))

    return convert_int8(build)


_PLANE_NAMES = ("te_depthwise_plane_3x3_s1", "te_depthwise_plane_5x5_s2", "te_depthwise_plane_7x7_s1",
                "te_depthwise_plane_5x5_s1")


def test_plane_depthwise_identical_to_tflm_simd_and_portable(tmp_path):
    require_qemu()
    model = _plane_model()
    project = generate(read_model_bytes(model, source="plane.tflite"))
    model_c = project.files["model.c"]
    for name in _PLANE_NAMES:
        assert f"TE_DW_PLANE_DEFINE({name}," in model_c, name
    results = _run_both(project, TflmModel(model).run, tmp_path, cases=2)
    for check in results.values():
        assert check.compared_with == ("TFLM", "host build")
    assert results["simd"].run.outputs == results["portable"].run.outputs
    assert results["simd"].run.instructions[0] < results["portable"].run.instructions[0]


def test_plane_depthwise_clamp_variants_like_the_portable_ones(tmp_path):
    """The _clamp instantiations (full = 0: the layer's act_min/act_max, as the plan emits
    for a clamp inside the int8 range; the converter gives this model none), and the full
    ones handed a clamp (their portable fallback), put in by hand: the host build's outputs."""
    require_qemu()
    model = _plane_model()
    project = generate(read_model_bytes(model, source="plane.tflite"))
    source = project.files["model.c"].replace(".act_min = -128, .act_max = 127", ".act_min = -90, .act_max = 100")
    for name in _PLANE_NAMES[:2]:  # two layers on the clamp variant, two on the full one's fallback
        source = re.sub(rf"TE_DW_PLANE_DEFINE\({name}, (\d), (\d), 1\)", rf"TE_DW_PLANE_DEFINE({name}, \1, \2, 0)", source)
    assert source.count(", 0)\n") >= 2, source
    project = dataclasses.replace(project, files=_every_gemm_variant(dict(project.files, **{"model.c": source})))
    options = FirmwareOptions(board="mps2-an500", layout="qemu", kernels="simd", cases=2, seed=3)
    check = check_firmware(write_firmware_project(project, tmp_path / "simd", options))
    assert check.compared_with == ("host build",)


def test_mcunet_vww_simd_identical_and_fewer_instructions(tmp_path):
    require_qemu()
    path = shared_model("mcunet_vww.tflite")
    results = _run_both(generate_from_file(path), TflmModel.from_file(path).run, tmp_path)
    assert results["simd"].run.outputs == results["portable"].run.outputs
    simd, portable = results["simd"].run.instructions[0], results["portable"].run.instructions[0]
    assert simd * 1.5 <= portable, (simd, portable)
    macs = generate_from_file(path).report["macs"]
    assert macs / simd >= 0.5, (macs, simd)  # issue 5: half a MAC per instruction on the Cortex-M7


@pytest.mark.parametrize("per_channel", [True, False], ids=["per_channel", "per_tensor"])
def test_simd_and_portable_identical_to_tflm_on_the_shape_dependent_paths(tmp_path, per_channel):
    require_qemu()
    model = _more_dsp_paths_model(per_channel)
    project = generate(read_model_bytes(model, source="more_dsp_paths.tflite"))
    ops = project.report["ops"]
    assert any(op["name"] == "CONV_2D+ADD" for op in ops) and "kernels/te_conv2d_narrow.c" in project.files
    results = _run_both(project, TflmModel(model).run, tmp_path, cases=2)
    for check in results.values():
        assert check.compared_with == ("TFLM", "host build")
    assert results["simd"].run.outputs == results["portable"].run.outputs
    assert results["simd"].run.instructions[0] < results["portable"].run.instructions[0]


def _every_gemm_variant(files: dict[str, str]) -> dict[str, str]:
    """The project's files with the package's te_gemm_config.h (every GEMM variant): model.c's
    parameters edited by hand are no longer those the project's own config was written for."""
    default = (KERNELS_DIR / CONFIG_HEADER).read_text(encoding="utf-8")
    return dict(files, **{f"kernels/{CONFIG_HEADER}": default})


def test_dsp_kernels_identical_without_the_fast_requantisation(tmp_path):
    """Every layer told that te_requantize_rq does not apply (as the planner says where a
    multiplier needs a left shift or an accumulator could overflow): the general variants
    with te_requantize_fast, still TFLM's outputs."""
    require_qemu()
    model = _more_dsp_paths_model()
    project = generate(read_model_bytes(model, source="more_dsp_paths.tflite"))
    assert ".fast_requant = 1" in project.files["model.c"]
    files = dict(project.files, **{"model.c": project.files["model.c"].replace(".fast_requant = 1", ".fast_requant = 0")})
    project = dataclasses.replace(project, files=_every_gemm_variant(files))
    options = FirmwareOptions(board="mps2-an500", layout="qemu", kernels="simd", cases=2, seed=3)
    check = check_firmware(write_firmware_project(project, tmp_path / "simd", options), tflm=TflmModel(model).run)
    assert check.compared_with == ("TFLM", "host build")


def test_dsp_kernels_clamp_like_the_portable_ones(tmp_path):
    """Clamps narrower than int8 (a ReLU6's, or a ReLU's with its zero point above -128; the
    converter's calibration gives this model none) put in by hand: the general variants'
    compares against the portable kernels' clamps, on the host build of the same code."""
    require_qemu()
    model = _more_dsp_paths_model()
    project = generate(read_model_bytes(model, source="more_dsp_paths.tflite"))
    source = project.files["model.c"].replace(".act_min = -128, .act_max = 127", ".act_min = -90, .act_max = 100")
    assert source != project.files["model.c"]
    project = dataclasses.replace(project, files=_every_gemm_variant(dict(project.files, **{"model.c": source})))
    options = FirmwareOptions(board="mps2-an500", layout="qemu", kernels="simd", cases=2, seed=3)
    check = check_firmware(write_firmware_project(project, tmp_path / "simd", options))
    assert check.compared_with == ("host build",)


def test_lean_long_receptive_field_on_the_shallow_core(tmp_path):
    require_qemu()
    model = _lean_conv_model()
    project = generate(read_model_bytes(model, source="lean_conv.tflite"))
    (plan,) = [p for p in project.compiled.plans if getattr(getattr(p, "kernel", None), "name", "").endswith("shallow_s8")]
    assert plan.depth > 64, plan.depth  # past the shallow core's one-part depth
    results = _run_both(project, TflmModel(model).run, tmp_path, cases=2)
    assert results["simd"].run.outputs == results["portable"].run.outputs
