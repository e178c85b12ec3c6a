"""Writing files so that a failure never leaves half a file or destroys the old one."""

from __future__ import annotations

import contextlib
import glob
import os
import re
import secrets
import socket
import stat
from pathlib import Path

# Partial files are named ``.<stem>.partial-<host>-<pid>-<token><suffix>``: the host and
# process that write them say when one is left over from a writer that died (SIGKILL, a
# power cut) and may be removed.
_HOST = re.sub(r"[^A-Za-z0-9]", "", socket.gethostname())[:32] or "host"
_PARTIAL_TAIL = re.compile(r"(?P<host>[A-Za-z0-9]+)-(?P<pid>\d+)-[0-9a-f]+")


def same_file(a, b) -> bool:
    """Whether paths ``a`` and ``b`` name one existing file (links and ``..`` resolved)."""
    try:
        return os.path.samefile(a, b)
    except OSError:  # either does not exist (or cannot be looked at): not the same file
        return False


def check_folder_writable(folder, what: str) -> None:
    """Refuse ``folder`` unless a file can be created in it; ``what`` names it in messages.

    Creating (and removing) a file is the only test that tells the truth on read-only
    mounts, ACLs and running as root, where permission bits alone do not.
    """
    probe = Path(folder) / f".ldns-sklearn-probe-{secrets.token_hex(6)}"
    try:
        descriptor = os.open(probe, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
    except OSError as error:
        raise PermissionError(
            error.errno, f"cannot write in {what} {os.fspath(folder)!r} ({error.strerror})"
        ) from None
    os.close(descriptor)
    os.remove(probe)


def check_writable(path, *, overwrite: bool, overwrite_option: str = "overwrite=True") -> Path:
    """``path`` as a Path if a file may be written there, else the error saying why.

    Not a directory, in a folder that exists and can be written, and new unless
    ``overwrite``; ``overwrite_option`` names, in the message, how the caller asks to
    replace a file. Through a symbolic link, the file it points to is the one written.
    """
    path = Path(os.fspath(path))
    if path.is_dir():
        raise IsADirectoryError(f"{str(path)!r} is a directory, not a file name.")
    target = _target(path)
    if not target.parent.is_dir():
        raise FileNotFoundError(f"the folder of {str(path)!r} does not exist.")
    if not overwrite and (path.exists() or path.is_symlink()):
        raise FileExistsError(f"{str(path)!r} exists; pass {overwrite_option} to replace it.")
    check_folder_writable(target.parent, f"the folder of {str(path)!r},")
    return path


def _target(path: Path) -> Path:
    """The file that writing ``path`` changes: the end of its symbolic links, if any."""
    return Path(os.path.realpath(path)) if path.is_symlink() else path


def _remove_stale_partials(target: Path) -> None:
    """Remove partial files of ``target`` left by writers on this host that no longer run.

    A partial of a live process (another writer, now) is never touched. Only on POSIX:
    elsewhere there is no harmless way to ask whether a process runs.
    """
    if os.name != "posix":
        return
    prefix, suffix = f".{target.stem}.partial-", target.suffix
    for candidate in target.parent.glob(f"{glob.escape(prefix)}*{glob.escape(suffix)}"):
        tail = candidate.name[len(prefix) : len(candidate.name) - len(suffix)]
        match = _PARTIAL_TAIL.fullmatch(tail)
        if match is None or match.group("host") != _HOST:
            continue
        if _process_runs(int(match.group("pid"))):
            continue
        with contextlib.suppress(OSError):
            candidate.unlink()


def _process_runs(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError):
        return True  # it runs, as another user (or the number is no pid: leave it be)
    return True


def _new_partial(target: Path) -> Path:
    """Create an empty partial file beside ``target``, with the mode a new file would get.

    ``os.open`` with mode 0o666 lets the process umask decide, as for any new file (a
    ``tempfile.mkstemp`` file is always 0600, which would make every saved file private).
    """
    while True:
        name = f".{target.stem}.partial-{_HOST}-{os.getpid()}-{secrets.token_hex(4)}"
        partial = target.parent / f"{name}{target.suffix}"
        try:
            descriptor = os.open(partial, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o666)
        except FileExistsError:
            continue
        os.close(descriptor)
        return partial


@contextlib.contextmanager
def replacing(path, *, overwrite: bool = True, overwrite_option: str = "overwrite=True"):
    """Yield a temporary path next to ``path``; on success it replaces ``path`` atomically.

    Whatever the block writes goes to a hidden file in the same directory (so the final
    ``os.replace`` is a rename on one file system). If the block raises, or is interrupted,
    the temporary file is removed and ``path`` is untouched: the old file, or none.
    ``overwrite=False`` refuses an existing ``path`` before anything is written (see
    :func:`check_writable`). The new file keeps the mode of the file it replaces (a new
    one gets the umask's); a symbolic link is followed, and the file it points to replaced.
    Partial files that writers killed earlier left beside ``path`` are removed.
    An ``OSError`` names ``path``, never the temporary file.
    """
    path = check_writable(path, overwrite=overwrite, overwrite_option=overwrite_option)
    target = _target(path)
    _remove_stale_partials(target)
    partial = None
    try:
        partial = _new_partial(target)
        yield partial
        if target.exists():
            os.chmod(partial, stat.S_IMODE(target.stat().st_mode))
        os.replace(partial, target)
    except BaseException as error:
        if partial is not None:
            with contextlib.suppress(FileNotFoundError):
                os.remove(partial)
        if isinstance(error, OSError) and error.errno is not None:
            # The errno and its class stay (a full disk is still ENOSPC).
            raise type(error)(
                error.errno, f"could not write {str(path)!r}: {error.strerror}"
            ) from error
        raise
