"""Speech Commands v2 as the MLPerf Tiny 12-class keyword-spotting task.

Reads the dataset as released (``speech_commands_v0.02.tar.gz`` unpacked): one folder per
word of 1 s, 16 kHz WAVs, ``_background_noise_/`` with long noise recordings, and
``validation_list.txt`` / ``testing_list.txt`` naming the files of those splits (every
other file is training data). The 12 classes, in the MLPerf label order, are the ten
keywords, then "silence" and "unknown":

    down, go, left, no, off, on, right, stop, up, yes, silence, unknown

Every other word is "unknown" (kept at ``unknown_percentage`` of the keyword count, drawn
with the seed, as TensorFlow's speech_commands recipe does); "silence" examples are
one-second chunks of the background-noise files (``silence_percentage`` of the keyword
count). Training clips are time-shifted and mixed with background noise (MLPerf defaults:
+/-100 ms, 80 % of clips, volume below 0.1) before the MFCC front end in
``mcunet_datasets.kws_frontend``. Elements are (features float32 [49, 10, 1], label int32).
"""

from __future__ import annotations

import dataclasses
import math
import os
import wave
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from mcunet_datasets.audio_ops import NoiseBank, load_clip, mix_background, time_shift
from mcunet_datasets.errors import DatasetLayoutError
from mcunet_datasets.headers import check_headers
from mcunet_datasets.image_ops import split_seed
from mcunet_datasets.kws_frontend import MLPERF_KWS, MfccSettings, mfcc_features, normalize_peak
from mcunet_datasets.layout import require_dir, require_file
from mcunet_datasets.pipeline import example_dataset

__all__ = [
    "KEYWORDS",
    "KWS_LABELS",
    "SILENCE_LABEL",
    "SPEECH_COMMANDS_LAYOUT",
    "SPLITS",
    "UNKNOWN_LABEL",
    "SpeechCommandsConfig",
    "SpeechExample",
    "check_clip_headers",
    "check_layout",
    "load_noise_bank",
    "speech_commands_dataset",
    "speech_commands_examples",
]

KWS_LABELS = ("down", "go", "left", "no", "off", "on", "right", "stop", "up", "yes", "silence", "unknown")
KEYWORDS = KWS_LABELS[:10]
SILENCE_LABEL = KWS_LABELS.index("silence")
UNKNOWN_LABEL = KWS_LABELS.index("unknown")
SPEECH_COMMANDS_LAYOUT = (
    "the Speech Commands v2 layout (one folder per word, _background_noise_/, validation_list.txt, testing_list.txt)"
)
SPLITS = ("train", "validation", "test")
BACKGROUND = "_background_noise_"
LIST_FILES = {"validation": "validation_list.txt", "test": "testing_list.txt"}


@dataclasses.dataclass(frozen=True)
class SpeechCommandsConfig:
    """How examples are drawn and augmented (MLPerf Tiny KWS defaults)."""

    silence_percentage: float = 10.0
    #: None keeps every non-keyword clip as "unknown"
    unknown_percentage: float | None = 10.0
    background_frequency: float = 0.8
    background_volume: float = 0.1
    time_shift_ms: float = 100.0
    mfcc: MfccSettings = MLPERF_KWS

    @property
    def max_shift_samples(self) -> int:
        return round(self.time_shift_ms * self.mfcc.sample_rate / 1000)


@dataclasses.dataclass(frozen=True, order=True)
class SpeechExample:
    """A clip: ``path`` and its label; ``offset`` > 0 picks a one-second chunk (silence)."""

    path: str
    label: int
    offset: int = 0


def check_layout(root: str | os.PathLike[str]) -> Path:
    """``root`` as a Path if it has the released layout; a DatasetLayoutError saying what is missing otherwise."""
    folder = require_dir(root, SPEECH_COMMANDS_LAYOUT)
    for name in LIST_FILES.values():
        require_file(folder, name, SPEECH_COMMANDS_LAYOUT)
    require_dir(folder / BACKGROUND, SPEECH_COMMANDS_LAYOUT)
    missing = [w for w in KEYWORDS if not (folder / w).is_dir()]
    if missing:
        raise DatasetLayoutError(
            f"{folder}: missing word folders {', '.join(missing)}; expected {SPEECH_COMMANDS_LAYOUT}"
        )
    return folder


def _read_list(folder: Path, name: str) -> set[str]:
    entries = set()
    for number, line in enumerate((folder / name).read_text(encoding="utf-8").splitlines(), start=1):
        entry = line.strip()
        if not entry:
            continue
        if not (folder / entry).is_file():
            raise DatasetLayoutError(
                f"{folder / name}: line {number} names {entry}, which is not a file under {folder}; "
                f"expected paths like 'yes/0a7c2a8d_nohash_0.wav' relative to the dataset folder"
            )
        entries.add(entry)
    return entries


def _wav_frames(path: Path, sample_rate: int) -> int:
    """Frames of a 16-bit PCM WAV, checked against ``sample_rate`` (header only, no decoding)."""
    try:
        with wave.open(str(path), "rb") as handle:
            rate, width, frames = handle.getframerate(), handle.getsampwidth(), handle.getnframes()
    except (wave.Error, EOFError, OSError) as exc:
        raise DatasetLayoutError(f"{path}: not a readable WAV file ({exc}); expected 16-bit PCM") from exc
    if rate != sample_rate or width != 2:
        raise DatasetLayoutError(f"{path}: {rate} Hz, {8 * width}-bit; expected {sample_rate} Hz 16-bit PCM")
    return frames


def _header_problem(path: str, sample_rate: int) -> str | None:
    try:
        _wav_frames(Path(path), sample_rate)
    except (DatasetLayoutError, OSError) as exc:
        return str(exc)
    return None


def check_clip_headers(paths: Sequence[str], sample_rate: int) -> None:
    """Read every clip's WAV header (in parallel, no decoding); the first bad one raises, naming the file."""
    check_headers(paths, lambda path: _header_problem(path, sample_rate))


def _noise_files(folder: Path, settings: MfccSettings) -> list[tuple[Path, int]]:
    noise_dir = folder / BACKGROUND
    files = sorted(noise_dir.glob("*.wav"))
    if not files:
        raise DatasetLayoutError(f"{noise_dir}: no .wav files; expected {SPEECH_COMMANDS_LAYOUT}")
    result = [(p, _wav_frames(p, settings.sample_rate)) for p in files]
    short = [p.name for p, n in result if n < settings.clip_samples]
    if short:
        raise DatasetLayoutError(
            f"{noise_dir}: {', '.join(short)} shorter than one clip ({settings.clip_samples} samples)"
        )
    return result


def _word_clips(folder: Path) -> dict[str, list[str]]:
    """Relative paths ('word/file.wav') of every clip, per word folder, sorted."""
    words = sorted(p.name for p in folder.iterdir() if p.is_dir() and not p.name.startswith("_"))
    return {w: sorted(f"{w}/{p.name}" for p in (folder / w).glob("*.wav")) for w in words}


def _split_of(relative: str, lists: dict[str, set[str]]) -> str:
    for split, members in lists.items():
        if relative in members:
            return split
    return "train"


def speech_commands_examples(
    root: str | os.PathLike[str],
    split: str = "train",
    config: SpeechCommandsConfig = SpeechCommandsConfig(),
    seed: int = 0,
) -> list[SpeechExample]:
    """The examples of one split: keywords, a seeded share of unknown words and of silence chunks."""
    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}, got {split!r}")
    folder = check_layout(root)
    lists = {s: _read_list(folder, name) for s, name in LIST_FILES.items()}
    rng = np.random.default_rng([seed, SPLITS.index(split)])
    known, unknown = [], []
    for word, clips in _word_clips(folder).items():
        for relative in clips:
            if _split_of(relative, lists) != split:
                continue
            if word in KEYWORDS:
                known.append(SpeechExample(str(folder / relative), KEYWORDS.index(word)))
            else:
                unknown.append(SpeechExample(str(folder / relative), UNKNOWN_LABEL))
    if config.unknown_percentage is not None:
        count = min(len(unknown), math.ceil(len(known) * config.unknown_percentage / 100))
        unknown = [unknown[i] for i in sorted(rng.choice(len(unknown), size=count, replace=False))]
    silence = []
    noise = _noise_files(folder, config.mfcc)
    for i in range(math.ceil(len(known) * config.silence_percentage / 100)):
        path, frames = noise[i % len(noise)]
        offset = int(rng.integers(0, frames - config.mfcc.clip_samples + 1))
        silence.append(SpeechExample(str(path), SILENCE_LABEL, offset))
    check_clip_headers([e.path for e in known + unknown], config.mfcc.sample_rate)
    return known + unknown + silence


def load_noise_bank(root: str | os.PathLike[str], settings: MfccSettings = MLPERF_KWS) -> NoiseBank:
    """Every background-noise recording, decoded to float32 in [-1, 1]."""
    import tensorflow as tf

    folder = check_layout(root)
    clips = []
    for path, _ in _noise_files(folder, settings):
        audio, _ = tf.audio.decode_wav(tf.io.read_file(str(path)), desired_channels=1)
        clips.append(audio.numpy()[:, 0])
    return NoiseBank.from_clips(clips)


def speech_commands_dataset(
    root: str | os.PathLike[str],
    split: str = "train",
    *,
    config: SpeechCommandsConfig = SpeechCommandsConfig(),
    seed: int = 0,
    augment: bool | None = None,
    batch_size: int | None = None,
):
    """(MFCC features float32 [49, 10, 1], label int32) for one split; train is shuffled and augmented."""
    examples = speech_commands_examples(root, split, config, seed)
    augment = split == "train" if augment is None else augment
    noise = load_noise_bank(root, config.mfcc) if augment else None
    settings = config.mfcc

    def load(path, label, offset, example_seed):
        import tensorflow as tf

        clip = normalize_peak(load_clip(path, offset, settings.clip_samples, settings.sample_rate))
        if augment:
            clip = time_shift(clip, config.max_shift_samples, split_seed(example_seed, 0))
            clip = mix_background(
                clip, noise, config.background_frequency, config.background_volume, split_seed(example_seed, 1)
            )
        features = mfcc_features(clip, settings, normalize=False)
        features.set_shape(settings.feature_shape)
        return features, tf.cast(label, tf.int32)

    columns = ([e.path for e in examples], [e.label for e in examples], [e.offset for e in examples])
    return example_dataset(columns, load, shuffle=split == "train", seed=seed, batch_size=batch_size)
