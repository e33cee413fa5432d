"""Files a command writes for the operator (an exported model or anchor, an error report, a ground truth): whole or
not at all.

A file written straight under its own name and cut by a full disk, a quota or a killed process was left behind
half written — and a cut zip or CSV looks like a valid export (a CSV cut after a line break is one). The data goes
to a temporary file beside the target (the same folder, hence the same file system: the rename cannot copy) and is
renamed over the target only once it is complete and on disk; on any failure the temporary file is removed, a file
that was there before is left as it was, and the error names the target, not the temporary name.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import IO


class FileNotWritten(OSError):
    """The target could not be written; nothing of the attempt is left. ``str()`` is one sentence for the operator."""

    def __str__(self) -> str:
        return f"{self.filename}: {self.strerror}"


@contextlib.contextmanager
def written_whole(path: Path | str, mode: str = "wb", permissions: int = 0o666, **open_kwargs) -> Iterator[IO]:
    """Open a temporary file for writing; when the block ends without an error it becomes ``path`` (replacing a
    file of that name). ``permissions`` are applied as ``open`` would (less the umask)."""
    path = Path(path)
    temporary = path.with_name(f".{path.name}.{os.getpid()}-{secrets.token_hex(4)}.part")
    existed = path.exists()
    try:
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, permissions)
        with os.fdopen(fd, mode, **open_kwargs) as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(temporary, path)
    except BaseException as err:
        with contextlib.suppress(OSError):
            temporary.unlink(missing_ok=True)
        if isinstance(err, OSError) and not isinstance(err, FileNotWritten):
            left = "the file there before is unchanged" if existed else "no part of it was left"
            reason = err.strerror or str(err) or type(err).__name__
            raise FileNotWritten(err.errno, f"not written ({reason}); {left}", str(path)) from err
        raise


def write_whole(path: Path | str, data: bytes, permissions: int = 0o666) -> None:
    with written_whole(path, "wb", permissions) as fh:
        fh.write(data)
