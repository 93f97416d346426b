"""The ``--out`` guard: refuse a folder we did not write, stage beside it, swap it in last.

Every writer of a generated folder (the host project, the firmware build) goes through
:func:`staged_output`, so the same rules hold for all of them:

* **Only our own folders are replaced.** An existing ``--out`` must be an empty folder or
  one that carries our marker file (:data:`MARKER_NAME`, written into every output), or a
  folder an earlier version wrote (exactly our file names). Refused, with one line saying
  why, before anything is written: an empty path, the current folder or one of its
  ancestors, a folder that holds an input (the model), a path that is a file, a read-only
  folder, a mount point, a non-empty folder of someone else's.
* **Nothing is replaced until every step succeeded.** The caller fills a staging folder
  ``.<name>.tmp-<pid>-<random>/<name>`` beside the target; only a clean exit from the
  ``with`` block swaps it in (atomically where the kernel has ``RENAME_EXCHANGE``), under
  an exclusive lock on the parent folder, after checking the target again.
* **Leftovers are removed only when their owner is gone.** Staging and retired folders
  carry their process id; a later run removes those whose process no longer exists, never
  another live run's. Two runs into one ``--out`` at once each swap in a complete folder.
* **The user's umask is respected**: folders are made with mode 0777 and files 0666, less
  the umask (``tempfile`` would make them 0700 / 0600).
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import errno
import fcntl
import os
import re
import secrets
import shutil
import stat
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path

from tinyengine_gen.errors import OutputFolderError
from tinyengine_gen.printable import printable

__all__ = [
    "MARKER_NAME",
    "check_output_folder",
    "current_umask",
    "remove_dead_staging",
    "staged_output",
    "write_files",
]

MARKER_NAME = ".tinyengine_gen"
_MARKER_TEXT = "Written by tinyengine_gen. The next run with this folder as --out replaces it whole.\n"
#: what an earlier version (before the marker) wrote at the top of an output folder
_LEGACY_NAMES = frozenset({"model.h", "model.c", "kernels", "Makefile", "report.json", "libmodel.so", "firmware"})
_LEGACY_REQUIRED = frozenset({"model.h", "model.c", "report.json"})
_STAGING_KINDS = ("tmp", "old")


def current_umask() -> int:
    """The process umask, read without changing it where /proc allows."""
    with contextlib.suppress(OSError):
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _is_ours(folder: Path) -> bool:
    names = set(os.listdir(folder))
    if MARKER_NAME in names:
        return True
    return _LEGACY_REQUIRED <= names <= _LEGACY_NAMES


def _nearest_existing(path: Path) -> Path:
    while not os.path.lexists(path):
        path = path.parent
    return path


def check_output_folder(out_dir: str | os.PathLike[str], protect: Iterable[str | os.PathLike[str]] = ()) -> Path:
    """The absolute target for ``out_dir`` if we may replace it; else OutputFolderError.

    ``protect``: files that must survive (the input model): a target that is or holds
    one of them is refused.
    """
    if not os.fspath(out_dir):
        raise OutputFolderError("--out is empty: give the folder to write the project to (e.g. --out=build/model)")
    target = Path(out_dir).resolve()
    shown = printable(out_dir)
    cwd = Path.cwd().resolve()
    if target == cwd or target in cwd.parents:
        raise OutputFolderError(
            f"--out={shown} is the current folder or one of its ancestors, which would be replaced whole; "
            "give a new folder for the output"
        )
    for kept in protect:
        kept_path = Path(kept).resolve()
        if target == kept_path:
            raise OutputFolderError(f"--out={shown} is the input {printable(kept)}; give a folder for the output")
        if target in kept_path.parents:
            raise OutputFolderError(
                f"--out={shown} holds the input {printable(kept)}, which replacing it would delete; give another folder"
            )
    if os.path.lexists(target):
        _check_existing(target, shown)
    _check_parent(target, shown)
    return target


def _check_existing(target: Path, shown: str) -> None:
    if not target.is_dir():
        raise OutputFolderError(f"--out={shown} is a file, not a folder; give a folder name for the output")
    if os.path.ismount(target):
        raise OutputFolderError(f"--out={shown} is a mount point and cannot be replaced; give a folder inside it")
    if not os.access(target, os.W_OK | os.X_OK) or not target.stat().st_mode & stat.S_IWUSR:
        raise OutputFolderError(f"--out={shown} is read-only; make it writable or give another folder")
    if os.listdir(target) and not _is_ours(target):
        raise OutputFolderError(
            f"--out={shown} is a non-empty folder that tinyengine_gen did not write (no {MARKER_NAME} marker), "
            "and would be replaced whole; give a new or empty folder"
        )


def _check_parent(target: Path, shown: str) -> None:
    existing = _nearest_existing(target.parent)
    if not existing.is_dir():
        raise OutputFolderError(f"--out={shown}: {printable(existing)} is a file, so no folder can be made under it")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise OutputFolderError(f"--out={shown}: cannot write in {printable(existing)} (permission denied)")


def _owner_pid(name: str, target_name: str) -> int | None:
    match = re.fullmatch(rf"\.{re.escape(target_name)}\.(?:{'|'.join(_STAGING_KINDS)})-(\d+)-[0-9a-f]+", name)
    return int(match.group(1)) if match else None


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def remove_dead_staging(target: Path) -> list[Path]:
    """Remove staging and retired folders beside ``target`` whose owning process is gone."""
    removed = []
    with contextlib.suppress(FileNotFoundError):
        for entry in os.scandir(target.parent):
            pid = _owner_pid(entry.name, target.name)
            if pid is not None and not _alive(pid):
                shutil.rmtree(entry.path, ignore_errors=True)
                removed.append(Path(entry.path))
    return removed


def _sibling(target: Path, kind: str) -> Path:
    return target.parent / f".{target.name}.{kind}-{os.getpid()}-{secrets.token_hex(4)}"


def _make_parents(folder: Path) -> list[Path]:
    """Create ``folder`` and its missing ancestors; return those created, outermost first."""
    missing = []
    while not os.path.lexists(folder):
        missing.append(folder)
        folder = folder.parent
    for path in reversed(missing):
        os.mkdir(path)
    return list(reversed(missing))


@contextlib.contextmanager
def _locked(folder: Path) -> Iterator[None]:
    handle = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX)
        except OSError as exc:  # a file system without locks (some network mounts): swap unlocked
            if exc.errno not in (errno.ENOLCK, errno.EOPNOTSUPP, errno.ENOTSUP, errno.EINVAL):
                raise
        yield
    finally:
        os.close(handle)


def _exchange(first: Path, second: Path) -> bool:
    """Swap two paths atomically (Linux renameat2 RENAME_EXCHANGE); False where unsupported."""
    library = ctypes.util.find_library("c")
    libc = ctypes.CDLL(library, use_errno=True) if library else None
    renameat2 = getattr(libc, "renameat2", None)
    if renameat2 is None:
        return False
    at_fdcwd, rename_exchange = -100, 2
    status = renameat2(at_fdcwd, os.fsencode(first), at_fdcwd, os.fsencode(second), rename_exchange)
    if status == 0:
        return True
    code = ctypes.get_errno()
    if code in (errno.EINVAL, errno.ENOSYS, errno.ENOTSUP):
        return False
    raise OSError(code, os.strerror(code), os.fsdecode(second))


def _swap_in(staged: Path, target: Path, shown: str) -> None:
    with _locked(target.parent):
        if os.path.lexists(target):
            _check_existing(target, shown)  # another process may have made it meanwhile
            if _exchange(staged, target):
                shutil.rmtree(staged, ignore_errors=True)
                return
            retired = _sibling(target, "old")
            os.rename(target, retired)
            os.rename(staged, target)
            shutil.rmtree(retired, ignore_errors=True)
        else:
            os.rename(staged, target)


def write_files(root: Path, files: Mapping[str, str]) -> None:
    """Write text files under ``root`` (made with the umask's modes), fsynced."""
    for relative, text in sorted(files.items()):
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "w", encoding="utf-8", newline="\n") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())


@contextlib.contextmanager
def staged_output(
    out_dir: str | os.PathLike[str], protect: Iterable[str | os.PathLike[str]] = ()
) -> Iterator[Path]:
    """Yield an empty staging folder for ``out_dir``; swap it in when the block succeeds.

    On any exception the staging folder (and any parent folder this call created) is
    removed and ``out_dir`` is left as it was.
    """
    shown = printable(out_dir)
    target = check_output_folder(out_dir, protect)
    created = _make_parents(target.parent)
    remove_dead_staging(target)
    root = _sibling(target, "tmp")
    try:
        os.mkdir(root)
        staged = root / target.name
        os.mkdir(staged)
        write_files(staged, {MARKER_NAME: _MARKER_TEXT})
        yield staged
        _swap_in(staged, target, shown)
    except BaseException:
        shutil.rmtree(root, ignore_errors=True)
        for folder in reversed(created):
            with contextlib.suppress(OSError):
                os.rmdir(folder)
        raise
    shutil.rmtree(root, ignore_errors=True)
