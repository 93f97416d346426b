"""The end-to-end co-design pipeline: a tiny run on the built-in toy data, and its command line."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import pytest

from mcunet_tf.pipeline import STEPS, main, run_pipeline
from mcunet_tf.pipeline_steps.config import PipelineError, make_options

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("pipeline") / "run"
    stream = io.StringIO()
    data = run_pipeline(make_options("toy", budget="tiny"), out, stream=stream)
    return out, data, stream.getvalue()


def test_tiny_run_writes_the_reports_and_plots(tiny_run):
    out, data, log = tiny_run
    for name in ("report.md", "report.json", "plots/search_space_cdf.png", "plots/pareto.png", "plots/memory_per_op.png"):
        assert (out / name).is_file(), name
    assert (out / "qat" / "model_int8.tflite").is_file()
    assert (out / "c" / "model" / "model.c").is_file()
    report = json.loads((out / "report.json").read_text())
    assert report["version"] == 1 and report["accuracy"] == data["accuracy"]
    assert "int8, generated TinyEngine C** |" in (out / "report.md").read_text()
    # one line when a step starts and one when it ends, with elapsed time
    assert log.count("[5/8]") == 2 and "[2/8] supernet training:" in log and " s, total " in log


def test_c_and_tflite_predictions_agree_on_every_test_example(tiny_run):
    _, data, _ = tiny_run
    agreement = data["c"]["agreement"]
    assert agreement["exact"] and agreement["same_bytes_tflm"] == agreement["same_labels"] == agreement["examples"] > 0
    assert agreement["c_accuracy"] == agreement["tflite_accuracy"]
    assert data["side_by_side"]["bit_exact"]


def test_tiny_run_beats_chance(tiny_run):
    _, data, _ = tiny_run
    assert data["accuracy"] > data["chance_accuracy"] + 0.1


def test_the_chosen_network_meets_the_budget(tiny_run):
    _, data, _ = tiny_run
    best, options = data["search"]["best"], data["options"]
    assert best["peak_sram_kb"] <= options["sram_kb"] and best["flash_kb"] <= options["flash_kb"]
    assert data["c"]["report"]["peak_sram_bytes"] <= options["sram_kb"] * 1024


def test_a_rerun_with_the_same_options_resumes(tiny_run):
    out, data, _ = tiny_run
    stream = io.StringIO()
    again = run_pipeline(make_options("toy", budget="tiny"), out, stream=stream)
    log = stream.getvalue()
    assert log.startswith("resuming")
    assert log.count("done in an earlier run, kept") == len(STEPS)
    assert again["accuracy"] == data["accuracy"]


def test_a_folder_that_is_not_a_pipeline_run_is_refused(tmp_path):
    (tmp_path / "precious.txt").write_text("keep me")
    with pytest.raises(PipelineError, match="not a pipeline output folder"):
        run_pipeline(make_options("toy", budget="tiny"), tmp_path, stream=io.StringIO())
    assert (tmp_path / "precious.txt").read_text() == "keep me"


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (dict(task="mnist"), "is not one of"),
        (dict(task="toy", budget="huge"), "--budget='huge'"),
        (dict(task="toy", sram_kb=-1), "must be positive"),
        (dict(task="toy", data_dir="/tmp"), "generates its own data"),
        (dict(task="toy", redistribute_rf=-1), "--redistribute_rf"),
    ],
)
def test_bad_options_raise_pipeline_errors(kwargs, message):
    task = kwargs.pop("task")
    with pytest.raises(PipelineError, match=message):
        make_options(task, **kwargs)


def test_receptive_field_redistribution_follows_patching_unless_given():
    assert make_options("toy").redistributed_stages == 1  # patching is on by default
    assert make_options("toy", patch="off").redistributed_stages == 0
    assert make_options("toy", patch="off", redistribute_rf=2).redistributed_stages == 2
    assert make_options("toy", redistribute_rf=0).redistributed_stages == 0


def test_patching_run_searches_the_redistributed_space(tiny_run):
    """With patching on (the default), the space step, the supernet and the search draw from
    the space whose first stage has only small kernels (MCUNetV2's redistribution)."""
    out, _, _ = tiny_run
    space = json.loads((out / "space" / "result.json").read_text())
    assert space["patch"] == "auto" and space["redistribute_rf"] == 1
    best = json.loads((out / "search" / "result.json").read_text())["best"]["arch_json"]
    arch = json.loads(best) if isinstance(best, str) else best
    assert set(arch["stages"][0]["kernel_sizes"]) == {3}, arch


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "mcunet_tf.pipeline", *args], capture_output=True, text=True, cwd=ROOT, timeout=120
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--task=vww",), "needs --data_dir"),
        (("--task=kws", "--data_dir=/nonexistent/speech"), "no such folder"),
        (("--task=vww", "--data_dir={empty}"), "not a readable vww dataset"),
    ],
)
def test_missing_or_malformed_data_dir_is_one_line_and_exit_2(tmp_path, args, message):
    args = tuple(a.replace("{empty}", str(tmp_path)) for a in args)
    result = _cli(*args, f"--out={tmp_path / 'out'}")
    assert result.returncode == 2, result.stderr[-2000:]
    lines = [line for line in result.stderr.splitlines() if line.startswith("pipeline:")]
    assert len(lines) == 1 and message in lines[0]
    assert not (tmp_path / "out").exists()


def test_main_rejects_positional_arguments(capsys):
    from absl import flags

    flags.FLAGS(["pipeline"])  # parse defaults once, as app.run would
    assert main(["pipeline", "extra"]) == 2
    assert "unexpected arguments" in capsys.readouterr().err
