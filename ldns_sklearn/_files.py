"""Writing files so that a failure never leaves half a file or destroys the old one."""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path


def check_writable(path, *, overwrite: bool, overwrite_option: str = "overwrite=True") -> Path:
    """``path`` as a Path if a file may be written there, else the error saying why.

    Not a directory, in a folder that exists, and new unless ``overwrite``;
    ``overwrite_option`` names, in the message, how the caller asks to replace a file.
    """
    path = Path(os.fspath(path))
    if path.is_dir():
        raise IsADirectoryError(f"{str(path)!r} is a directory, not a file name.")
    if not path.parent.is_dir():
        raise FileNotFoundError(f"the folder of {str(path)!r} does not exist.")
    if not overwrite and path.exists():
        raise FileExistsError(f"{str(path)!r} exists; pass {overwrite_option} to replace it.")
    return path


@contextlib.contextmanager
def replacing(path, *, overwrite: bool = True, overwrite_option: str = "overwrite=True"):
    """Yield a temporary path next to ``path``; on success it replaces ``path`` atomically.

    Whatever the block writes goes to a hidden file in the same directory (so the final
    ``os.replace`` is a rename on one file system). If the block raises, or is interrupted,
    the temporary file is removed and ``path`` is untouched: the old file, or none.
    ``overwrite=False`` refuses an existing ``path`` before anything is written (see
    :func:`check_writable`).
    """
    path = check_writable(path, overwrite=overwrite, overwrite_option=overwrite_option)
    # The extension is kept (NWB warns about a file name without ".nwb").
    handle, partial = tempfile.mkstemp(
        prefix=f".{path.stem}.partial-", suffix=path.suffix, dir=path.parent
    )
    os.close(handle)
    try:
        yield Path(partial)
        os.replace(partial, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.remove(partial)
        raise
