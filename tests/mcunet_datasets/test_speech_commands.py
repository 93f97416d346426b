"""Speech Commands v2 pipeline on a tiny folder in the released layout."""

from __future__ import annotations

import math

import numpy as np
import pytest
from mcunet_datasets.audio_ops import NoiseBank, mix_background, time_shift
from mcunet_datasets.errors import DatasetLayoutError
from mcunet_datasets.speech_commands import (
    KWS_LABELS,
    SILENCE_LABEL,
    UNKNOWN_LABEL,
    SpeechCommandsConfig,
    speech_commands_dataset,
    speech_commands_examples,
)

from tests.mcunet_datasets.fixtures import make_speech_commands, write_wav


def _relative(example) -> str:
    return "/".join(example.path.rsplit("/", 2)[-2:])


def test_labels_are_the_mlperf_order():
    assert KWS_LABELS == ("down", "go", "left", "no", "off", "on", "right", "stop", "up", "yes", "silence", "unknown")


def test_split_membership_follows_the_list_files(tmp_path):
    root = make_speech_commands(tmp_path / "sc")
    config = SpeechCommandsConfig(unknown_percentage=None, silence_percentage=0.0)
    splits = {s: speech_commands_examples(root, s, config) for s in ("train", "validation", "test")}
    assert sorted(_relative(e) for e in splits["validation"]) == [
        "bed/1000abcd_nohash_0.wav",
        "yes/0900abcd_nohash_0.wav",
    ]
    assert [_relative(e) for e in splits["test"]] == ["no/0300abcd_nohash_0.wav"]
    assert len(splits["train"]) == 12 * 3 - 3
    paths = [{e.path for e in examples} for examples in splits.values()]
    assert not (paths[0] & paths[1] or paths[0] & paths[2] or paths[1] & paths[2])
    for examples in splits.values():
        for e in examples:
            word = _relative(e).split("/")[0]
            assert e.label == (KWS_LABELS.index(word) if word in KWS_LABELS else UNKNOWN_LABEL)


def test_unknown_and_silence_shares(tmp_path):
    root = make_speech_commands(tmp_path / "sc", clips_per_word=4, unknown_words=("bed", "cat", "dog", "eye"))
    config = SpeechCommandsConfig(unknown_percentage=10.0, silence_percentage=20.0)
    examples = speech_commands_examples(root, "train", config, seed=5)
    known = [e for e in examples if e.label < SILENCE_LABEL]
    unknown = [e for e in examples if e.label == UNKNOWN_LABEL]
    silence = [e for e in examples if e.label == SILENCE_LABEL]
    assert len(known) == 10 * 4 - 2
    assert len(unknown) == math.ceil(len(known) * 0.10) and len(silence) == math.ceil(len(known) * 0.20)
    assert all("_background_noise_" in e.path and 0 <= e.offset <= 16000 for e in silence)
    assert speech_commands_examples(root, "train", config, seed=5) == examples
    assert speech_commands_examples(root, "train", config, seed=6) != examples


def test_dataset_gives_mfcc_features_and_labels(tmp_path):
    root = make_speech_commands(tmp_path / "sc")
    for split in ("train", "validation"):
        features, labels = next(iter(speech_commands_dataset(root, split, batch_size=64)))
        assert features.shape[1:] == (49, 10, 1) and features.dtype.name == "float32"
        assert np.isfinite(features.numpy()).all()
        assert labels.dtype.name == "int32" and set(labels.numpy().tolist()) <= set(range(12))
    _, labels = next(iter(speech_commands_dataset(root, "validation", batch_size=64)))
    assert sorted(labels.numpy().tolist()) == [9, 10, 11]  # yes, one silence chunk, bed -> unknown


def test_evaluation_features_are_deterministic_and_training_is_augmented(tmp_path):
    root = make_speech_commands(tmp_path / "sc")
    plain = [x.numpy() for x, _ in speech_commands_dataset(root, "test")]
    again = [x.numpy() for x, _ in speech_commands_dataset(root, "test")]
    augmented = [x.numpy() for x, _ in speech_commands_dataset(root, "test", augment=True, seed=1)]
    assert all(np.array_equal(a, b) for a, b in zip(plain, again))
    assert not all(np.allclose(a, b) for a, b in zip(plain, augmented))


def test_time_shift_moves_by_at_most_max_shift():
    import tensorflow as tf

    clip = np.zeros(1000, np.float32)
    clip[500] = 1.0
    positions = set()
    for s in range(40):
        shifted = time_shift(tf.constant(clip), 100, tf.constant([s, 7], tf.int64)).numpy()
        assert shifted.shape == (1000,) and shifted.sum() == 1.0
        positions.add(int(np.argmax(shifted)))
    assert min(positions) >= 400 and max(positions) <= 600 and len(positions) > 10


def test_background_mixing_stays_within_volume_and_range():
    import tensorflow as tf

    noise = NoiseBank.from_clips([np.ones(3000, np.float32), -np.ones(2500, np.float32)])
    clip = np.full(2000, 0.95, np.float32)
    differences = []
    for s in range(40):
        mixed = mix_background(tf.constant(clip), noise, 0.8, 0.1, tf.constant([s, 1], tf.int64)).numpy()
        assert mixed.min() >= -1.0 and mixed.max() <= 1.0
        difference = np.unique(np.round(mixed - clip, 6))
        assert difference.size == 1 and abs(difference[0]) < 0.1
        differences.append(difference[0])
    assert any(d == 0 for d in differences) and any(d != 0 for d in differences)
    unchanged = mix_background(tf.constant(clip), noise, 0.0, 0.1, tf.constant([0, 1], tf.int64)).numpy()
    assert np.array_equal(unchanged, clip)


@pytest.mark.parametrize(
    "damage, message",
    [
        (
            "validation_list.txt",
            r"sc: missing validation_list.txt; expected the Speech Commands v2 layout \(one folder per word, _background_noise_/, validation_list.txt, testing_list.txt\)",
        ),
        ("testing_list.txt", r"sc: missing testing_list.txt; expected the Speech Commands v2 layout"),
        ("_background_noise_", r"_background_noise_: not found; expected the Speech Commands v2 layout"),
        ("yes", r"sc: missing word folders yes; expected the Speech Commands v2 layout"),
    ],
)
def test_missing_parts_of_the_layout_are_named(tmp_path, damage, message):
    import shutil

    root = make_speech_commands(tmp_path / "sc")
    target = root / damage
    shutil.rmtree(target) if target.is_dir() else target.unlink()
    with pytest.raises(DatasetLayoutError, match=message):
        speech_commands_examples(root, "train")


def test_malformed_files_are_named(tmp_path):
    root = make_speech_commands(tmp_path / "sc")
    with pytest.raises(DatasetLayoutError, match=r"nowhere: not found; expected the Speech Commands v2 layout"):
        speech_commands_examples(tmp_path / "nowhere")
    (root / "testing_list.txt").write_text("no/0300abcd_nohash_0.wav\nno/missing.wav\n")
    with pytest.raises(DatasetLayoutError, match=r"testing_list.txt: line 2 names no/missing.wav, which is not a file"):
        speech_commands_examples(root, "test")
    (root / "testing_list.txt").write_text("")
    write_wav(root / "_background_noise_" / "slow.wav", np.zeros(20000), sample_rate=8000)
    with pytest.raises(DatasetLayoutError, match=r"slow.wav: 8000 Hz, 16-bit; expected 16000 Hz 16-bit PCM"):
        speech_commands_examples(root, "test")
    (root / "_background_noise_" / "slow.wav").write_bytes(b"RIFFjunk")
    with pytest.raises(DatasetLayoutError, match=r"slow.wav: not a readable WAV file"):
        speech_commands_examples(root, "test")


def test_bad_split_is_a_value_error(tmp_path):
    with pytest.raises(ValueError, match=r"split must be one of \('train', 'validation', 'test'\)"):
        speech_commands_examples(tmp_path, "val")


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("8 kHz", r"go/zz_bad.wav: 8000 Hz, 16-bit; expected 16000 Hz 16-bit PCM \(every file is checked before"),
        ("text", r"go/zz_bad.wav: not a readable WAV file \(file does not start with RIFF id\)"),
        ("float", r"go/zz_bad.wav: not a readable WAV file \(unknown format: 3\)"),
    ],
)
def test_every_clip_header_is_checked_up_front_naming_the_file(tmp_path, content, message):
    """A bad clip would otherwise stop training at its batch with a TensorFlow traceback naming no file."""
    root = make_speech_commands(tmp_path / "sc")
    bad = root / "go" / "zz_bad.wav"
    if content == "8 kHz":
        write_wav(bad, np.zeros(8000), sample_rate=8000)
    elif content == "text":
        bad.write_text("not audio")
    else:  # IEEE float samples (format tag 3): decode_wav reads 16-bit PCM only
        write_wav(bad, np.zeros(16000))
        raw = bytearray(bad.read_bytes())
        raw[20:22] = (3).to_bytes(2, "little")
        bad.write_bytes(bytes(raw))
    with pytest.raises(DatasetLayoutError, match=message):
        speech_commands_examples(root, "train")
    bad.unlink()
    assert len(speech_commands_examples(root, "train")) > 0
