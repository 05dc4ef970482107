"""The tar archive `put_files` sends to the engine: files with their modes, parents created.

Pure (no engine): the engine unpacks one archive per call, so a node's bootstrap inputs go in
with one API request instead of one per file.
"""
from __future__ import annotations

import io
import tarfile
import time

Files = list[tuple[str, bytes, int]]  # (absolute path, content, mode)


def tar_files(files: Files) -> bytes:
    """A tar of files, rooted at /, with every parent directory (0755) listed once."""
    buf, now, dirs = io.BytesIO(), int(time.time()), set()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for path, data, mode in files:
            parts = [p for p in path.split("/") if p]
            for i in range(1, len(parts)):
                if (directory := "/".join(parts[:i])) not in dirs:
                    dirs.add(directory)
                    info = tarfile.TarInfo(directory)
                    info.type, info.mode, info.mtime = tarfile.DIRTYPE, 0o755, now
                    tar.addfile(info)
            info = tarfile.TarInfo("/".join(parts))
            info.size, info.mode, info.mtime = len(data), mode, now
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()
