"""agent.pyz's `__main__.py`: run the agent from a bytecode-cached copy of the archive.

zipimport never writes .pyc files, so every start of the agent compiled jinja2 and the agent
again, about half of a start (decision 14), paid by the bootstrap's register and by every
converge. The first start unpacks the archive beside itself, into
`.agent.pyz-<sha256 prefix>/`; from then on Python caches bytecode there as for any installed
package. The archive stays byte-reproducible (build.py); a new archive gets a new copy and the
old copies are removed. When the directory cannot be written (not root), the agent runs from
the archive as before. The archive carries bytecode for the host's Python (pycompile.py), so on
a node with the same version the copy needs no compiling either.

Stdlib only, and nothing may import `harness` before sys.path points at the copy.
"""
import hashlib
import os
import sys


def cached_copy(archive: str) -> "str | None":
    """The unpacked copy of `archive` (made when missing), or None when it cannot be made."""
    with open(archive, "rb") as fh:
        digest = hashlib.sha256(fh.read()).hexdigest()[:16]
    parent, base = os.path.split(os.path.abspath(archive))
    prefix = f".{base}-"
    target = os.path.join(parent, prefix + digest)
    if os.path.isdir(target):
        return target
    import shutil  # only the first start unpacks: the others skip these imports (~10 ms)
    import tempfile
    import zipfile
    try:
        tmp = tempfile.mkdtemp(prefix=f".{base}.tmp-", dir=parent)
    except OSError:
        return None
    try:
        with zipfile.ZipFile(archive) as zf:
            zf.extractall(tmp)
        os.replace(tmp, target)
    except (OSError, zipfile.BadZipFile):  # another start won the race (target exists), a
        shutil.rmtree(tmp, ignore_errors=True)  # full disk, or a damaged archive
        return target if os.path.isdir(target) else None
    for name in os.listdir(parent):  # copies of earlier archives
        if name.startswith(prefix) and os.path.join(parent, name) != target:
            shutil.rmtree(os.path.join(parent, name), ignore_errors=True)
    return target


def main() -> int:
    archive = os.path.dirname(os.path.abspath(__file__))
    if os.path.isfile(archive) and not sys.flags.dont_write_bytecode:
        try:
            copy = cached_copy(archive)
        except OSError:  # unreadable: run from the archive
            copy = None
        if copy is not None:
            sys.path = [copy if p and os.path.abspath(p) == archive else p for p in sys.path]
    from harness.agent.cli import main as agent_main
    return agent_main()


if __name__ == "__main__":
    sys.exit(main())
