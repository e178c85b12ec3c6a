"""Writing files so that a failure never leaves half a file or destroys the old one."""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path


@contextlib.contextmanager
def replacing(path, *, overwrite: bool = True):
    """Yield a temporary path next to ``path``; on success it replaces ``path`` atomically.

    Whatever the block writes goes to a hidden file in the same directory (so the final
    ``os.replace`` is a rename on one file system). If the block raises, or is interrupted,
    the temporary file is removed and ``path`` is untouched: the old file, or none.
    ``overwrite=False`` refuses an existing ``path`` before anything is written.
    """
    path = Path(os.fspath(path))
    if path.is_dir():
        raise IsADirectoryError(f"{str(path)!r} is a directory, not a file name.")
    if not overwrite and path.exists():
        raise FileExistsError(f"{str(path)!r} exists; pass overwrite=True to replace it.")
    folder = path.parent
    if not folder.is_dir():
        raise FileNotFoundError(f"the folder of {str(path)!r} does not exist.")
    # The extension is kept (NWB warns about a file name without ".nwb").
    handle, partial = tempfile.mkstemp(
        prefix=f".{path.stem}.partial-", suffix=path.suffix, dir=folder
    )
    os.close(handle)
    try:
        yield Path(partial)
        os.replace(partial, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.remove(partial)
        raise
