"""Command-line edge: one clear line and exit status 2 for every user error, and quiet start-up.

Every ``python -m ...`` command of the project starts through :func:`run` instead of
``absl.app.run``. It keeps absl's flag parsing (and ``--helpshort`` / ``--helpfull``) but
turns each way a command line can be wrong into ``program: error: <one line>`` and exit
status 2, before any work starts:

* an unknown flag, a value of the wrong type, a value the flag's validator refuses (the
  rules of :mod:`tinyengine_gen.flag_rules`, declared next to each flag), a required flag
  left out: absl's own message, which names the flag and the value;
* a positional argument (absl would print the whole module docstring);
* an error of the command's taxonomy (``TinyEngineError`` and the types the command adds)
  raised by its ``main``: its message's first line.

It also keeps the start-up quiet unless ``--verbose``: absl's Python logging at WARNING,
and for commands that declare ``tensorflow=True`` TensorFlow is imported with its native
start-up log (oneDNN, CUDA and CPU-feature lines that ``TF_CPP_MIN_LOG_LEVEL`` no longer
silences in TensorFlow 2.21) kept off stderr, and its Python logger at ERROR. Commands
that use TensorFlow must therefore import it lazily, inside ``main``, never at module top.

Library code raises the typed errors of :mod:`tinyengine_gen.errors` and never exits. The
environment's failures (a folder that is not writable, a path component that is a file, a
full disk, a file name that is not valid UTF-8) are the user's to fix too, so they get the
same one line, naming the path.
"""

from __future__ import annotations

import contextlib
import functools
import os
import sys
import tempfile
import warnings
from collections.abc import Callable, Iterator, Sequence
from typing import NoReturn, TypeVar

from absl import app, flags
from absl import logging as absl_logging

from tinyengine_gen.errors import InvalidOptionsError, TinyEngineError
from tinyengine_gen.printable import printable_line

__all__ = [
    "USER_ERROR_EXIT",
    "check_file_destination",
    "describe_os_error",
    "fail",
    "import_tensorflow_quietly",
    "one_line",
    "parse_flags",
    "report_user_errors",
    "run",
]

USER_ERROR_EXIT = 2
T = TypeVar("T")
FLAGS = flags.FLAGS


def describe_os_error(exc: OSError) -> str:
    """``PATH: what went wrong`` for an error of the environment."""
    paths = [os.fsdecode(p) for p in (exc.filename, exc.filename2) if p is not None]
    reason = exc.strerror or str(exc)
    return f"{' -> '.join(paths)}: {reason}" if paths else reason


def one_line(error: BaseException) -> str:
    """The first line of an error's message (an OSError: the path and the reason), or its type name."""
    text = describe_os_error(error) if isinstance(error, OSError) else str(error).strip()
    return printable_line(text.splitlines()[0]) if text.strip() else type(error).__name__


def fail(program: str, message: str) -> NoReturn:
    """Print ``program: error: message`` on stderr (one line) and exit with status 2."""
    sys.stdout.flush()
    print(f"{program}: error: {printable_line(message)}", file=sys.stderr, flush=True)
    sys.exit(USER_ERROR_EXIT)


def check_file_destination(path: str, flag: str) -> None:
    """Refuse, before any work, an output file path that is a folder or cannot be created."""
    if not path:
        raise InvalidOptionsError(f"{flag} is empty: give a file name")
    if os.path.isdir(path):
        raise InvalidOptionsError(f"{flag}={printable_line(path)} is a folder; give a file name")
    folder = os.path.dirname(os.path.abspath(path))
    while not os.path.lexists(folder):
        folder = os.path.dirname(folder)
    if not os.path.isdir(folder):
        raise InvalidOptionsError(f"{flag}={printable_line(path)}: {printable_line(folder)} is a file, not a folder")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise InvalidOptionsError(f"{flag}={printable_line(path)}: cannot write in {printable_line(folder)} (permission denied)")


def report_user_errors(program: str, function: Callable[[], T]) -> T:
    """Run ``function``; a TinyEngineError or an environment error (OSError) becomes
    ``program: error: <message>`` on one line and exit 2."""
    try:
        return function()
    except (TinyEngineError, OSError) as exc:
        fail(program, one_line(exc))


def parse_flags(program: str, argv: Sequence[str]) -> list[str]:
    """absl's parse, with every flag error and any positional argument as one line and exit 2."""
    try:
        rest = FLAGS(list(argv))
    except flags.Error as error:
        fail(program, f"{one_line(error)} (see --helpshort)")
    if len(rest) > 1:
        extra = " ".join(repr(a) for a in rest[1:])
        fail(program, f"unexpected argument {extra}: every option is a flag written --name=value (see --helpshort)")
    return rest


def _define_verbose() -> None:
    if "verbose" not in FLAGS:
        flags.DEFINE_bool("verbose", False, "Show TensorFlow's start-up log and informational log lines.")


def _configure_logging(verbose: bool) -> None:
    absl_logging.set_verbosity(absl_logging.INFO if verbose else absl_logging.WARNING)


@contextlib.contextmanager
def _native_stderr_held_back() -> Iterator[None]:
    """Send file descriptor 2 to a temporary file; replay what it caught only if the block raises."""
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as held:
        os.dup2(held.fileno(), 2)
        try:
            yield
        except BaseException:
            os.dup2(saved, 2)
            held.seek(0)
            os.write(2, held.read())
            raise
        finally:
            os.dup2(saved, 2)
            os.close(saved)


def import_tensorflow_quietly(verbose: bool = False) -> None:
    """Import TensorFlow now; unless ``verbose``, without its native start-up log and with its logger at ERROR."""
    if verbose:
        import tensorflow  # noqa: F401

        return
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    if "tensorflow" not in sys.modules:
        with _native_stderr_held_back():
            import tensorflow  # noqa: F401
    import tensorflow as tf

    tf.get_logger().setLevel("ERROR")
    # tf.lite.Interpreter warns of its own deprecation, in six lines, each time one is created
    warnings.filterwarnings("ignore", message=r"\s*Warning: tf.lite.Interpreter is deprecated")


def _call_main(
    main: Callable[[list[str]], int | None],
    program: str,
    user_errors: tuple[type[BaseException], ...],
    tensorflow: bool,
    argv: list[str],
) -> int | None:
    _configure_logging(FLAGS.verbose)
    if tensorflow:
        import_tensorflow_quietly(FLAGS.verbose)
    try:
        return main(argv)
    except (TinyEngineError, app.UsageError, *user_errors) as exc:
        fail(program, one_line(exc))


def run(
    main: Callable[[list[str]], int | None],
    *,
    program: str,
    user_errors: tuple[type[BaseException], ...] = (),
    tensorflow: bool = False,
    argv: Sequence[str] | None = None,
) -> NoReturn:
    """``absl.app.run(main)`` with one-line flag and user errors (exit 2), ``--verbose`` and quiet start-up.

    ``main`` gets the program name only (positional arguments are refused) and returns the
    exit status. ``user_errors`` are the error types, besides ``TinyEngineError``, whose
    message is shown as the one line; ``tensorflow=True`` imports TensorFlow quietly first.
    """
    _define_verbose()
    app.run(
        functools.partial(_call_main, main, program, tuple(user_errors), tensorflow),
        argv=list(sys.argv if argv is None else argv),
        flags_parser=functools.partial(parse_flags, program),
    )
    sys.exit(0)  # app.run always exits; this line is for type checkers
