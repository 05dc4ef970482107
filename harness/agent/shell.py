"""The one seam for running commands: resources call `ctx.run`, tests replace it.

`run` imitates what Chef's `shell_out` does on Linux: mixlib-shellout 3.4 without `login`
(lib/mixlib/shellout/unix.rb) and Ruby's `exec` of one string (ruby/ruby process.c
rb_exec_fillarg):
- a string with no shell meta character and no reserved word first is run directly, not
  through /bin/sh (`ruby_argv`), so a missing program is an exec error, not exit 127;
- `user` switches the uid only (`Process.uid = uid`): gid, supplementary groups and the
  environment (HOME, USER...) stay the agent's; the cwd is entered as that user;
- `env` is merged over the agent's environment: None unsets a variable, a value that is not
  a string kills the child before exec (Ruby's TypeError, exit 1);
- the child leads its own session; on timeout its whole process group gets TERM, 3 s, KILL;
- output is read until the child exits (a background grandchild holding the pipes does not
  keep the command running).
What mixlib-shellout raises instead of returning a status (the exec error, CommandTimeout)
comes back as `Completed.error`; the caller decides (execute and guards fail on it).
"""
from __future__ import annotations

import errno
import os
import re
import selectors
import shutil
import signal
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

Command = str | Sequence[str]

READ_WAIT = 0.01   # mixlib-shellout READ_WAIT_TIME: the timeout counts these idle slices
TERM_GRACE = 3.0   # unix.rb reap_errant_child: TERM to the group, `sleep 3`, KILL
# ruby/ruby process.c rb_exec_fillarg: shell meta characters, and the reserved words and
# special built-ins (posix_sh_cmds) that need the shell even without one
SH_META = frozenset("*?{}[]<>()~&|\\$;'`\"\n#")
POSIX_SH_CMDS = frozenset((
    "!", ".", ":", "break", "case", "continue", "do", "done", "elif", "else", "esac", "eval",
    "exec", "exit", "export", "fi", "for", "if", "in", "readonly", "return", "set", "shift",
    "then", "times", "trap", "unset", "until", "while"))


@dataclass
class Completed:
    """What a command did: exit status and its captured output. `error` is set when Chef's
    shell_out would raise instead (the program could not be exec'd, or the command timed
    out: then `timed_out` is the time counted, in seconds)."""

    rc: int
    out: str = ""
    err: str = ""
    error: str | None = None
    timed_out: float | None = None

    def tail(self, lines: int = 10) -> str:
        """The last lines of output, for failure messages."""
        text = (self.out + ("\n" if self.out and self.err else "") + self.err).strip()
        return "\n".join(text.splitlines()[-lines:])


Runner = Callable[..., Completed]


def ruby_argv(command: str) -> list[str] | None:
    """The argv Ruby's `exec(command)` runs directly, or None when it goes to /bin/sh -c.

    rb_exec_fillarg, character by character: any of SH_META means the shell; so does `=`
    in the first word before any `/` (an assignment); a first word in POSIX_SH_CMDS too.
    Otherwise the string is split on spaces and tabs only."""
    start: int | None = None
    length = 0
    for i, char in enumerate(command):
        if char in " \t":
            if start is not None and not length:
                length = i - start
        elif start is None:
            start = i
        if char in SH_META:
            return None
        if not length:
            if char == "=":
                return None
            if char == "/":
                length = 0x100  # longer than any posix_sh_cmds entry
    if start is not None:
        length = length or len(command) - start
        if command[start:start + length] in POSIX_SH_CMDS:
            return None
    return [word for word in re.split("[ \t]+", command) if word]


def run(cmd: Command, *, cwd: str | None = None, env: Mapping[Any, Any] | None = None,
        user: str | None = None, timeout: float | None = 3600, input: str | None = None
        ) -> Completed:
    """Run a command as Chef's shell_out does (see the module docstring); never raises on
    rc. A list is run as argv; a string as Ruby would (`ruby_argv`)."""
    uid = None
    if user is not None:
        import pwd  # only needed when switching users
        try:
            uid = pwd.getpwnam(user).pw_uid
        except KeyError:
            return Completed(1, "", f"user {user} does not exist")
    full_env = dict(os.environ)
    for key, value in (env or {}).items():
        if value is None:                           # Ruby: ENV[key] = nil deletes it
            full_env.pop(key, None)
        elif isinstance(key, str) and isinstance(value, str):
            full_env[key] = value
        else:                                       # unix.rb set_environment: ENV[k] = v
            bad = value if isinstance(key, str) else key
            return Completed(1, "", f"environment {key!r}: no implicit conversion of "
                                    f"{_ruby_class(bad)} into String (TypeError)")
    argv = ruby_argv(cmd) if isinstance(cmd, str) else list(cmd)
    if argv == []:
        return Completed(127, "", "No such file or directory - ",
                         error="No such file or directory - ")
    options: dict[str, Any] = {"cwd": cwd}
    if uid is not None:
        options = {"user": uid}
        if cwd is not None:       # unix.rb: set_user, then set_cwd (as the user, not root)
            options["preexec_fn"] = lambda: os.chdir(cwd)
    try:
        proc = _spawn(cmd if argv is None else argv, argv is None, full_env, input, options)
    except subprocess.SubprocessError:            # preexec_fn: chdir as the user failed
        return Completed(1, "", f"{cwd}: cannot change directory as {user}")
    except ValueError as exc:                     # e.g. "=" in an environment name
        return Completed(1, "", str(exc))
    except OSError as exc:
        if cwd is not None and exc.filename == cwd and "cwd" in options:
            return Completed(1, "", f"{exc.strerror} - {cwd}")  # Dir.chdir in the child
        message = f"{exc.strerror} - {argv[0] if argv else '/bin/sh'}"
        return Completed(127, "", message, error=message)   # err: for argv callers' tails
    return _collect(proc, cmd if isinstance(cmd, str) else " ".join(cmd), input, timeout)


def _spawn(target: Command, shell: bool, env: dict[str, str], input: str | None,
           options: dict[str, Any]) -> subprocess.Popen[bytes]:
    def popen(args: Command) -> subprocess.Popen[bytes]:
        return subprocess.Popen(args, shell=shell, env=env, start_new_session=True,
                                stdin=subprocess.PIPE if input is not None else subprocess.DEVNULL,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, **options)
    try:
        return popen(target)
    except OSError as exc:
        # Ruby's proc_exec_cmd: a file the kernel cannot exec (no #! line) is run by /bin/sh
        if shell or exc.errno != errno.ENOEXEC:
            raise
        argv = list(target)
        path = argv[0] if "/" in argv[0] else shutil.which(argv[0], path=env.get("PATH"))
        return popen(["/bin/sh", path or argv[0], *argv[1:]])


def _collect(proc: subprocess.Popen[bytes], shown: str, input: str | None,
             timeout: float | None) -> Completed:
    """mixlib-shellout's run_command loop: feed stdin, read stdout/stderr until the child
    exits (then what is left in the pipes), count idle READ_WAIT slices against timeout."""
    assert proc.stdout is not None and proc.stderr is not None
    buffers = {proc.stdout.fileno(): bytearray(), proc.stderr.fileno(): bytearray()}
    pending = memoryview((input or "").encode())
    sel = selectors.DefaultSelector()
    for fd in buffers:
        os.set_blocking(fd, False)
        sel.register(fd, selectors.EVENT_READ)
    stdin = proc.stdin.fileno() if proc.stdin is not None else None
    if stdin is not None:
        os.set_blocking(stdin, False)
        sel.register(stdin, selectors.EVENT_WRITE)
    counted, timed_out = 0.0, False
    try:
        while proc.poll() is None:
            ready = sel.select(READ_WAIT)
            if not ready:
                counted += READ_WAIT
                if timeout is not None and counted >= timeout:
                    _terminate(proc)
                    timed_out = True
                    break
            for key, _ in ready:
                if key.fd == stdin:
                    pending = _feed(stdin, pending)
                    if not pending:
                        sel.unregister(stdin)
                        _close(proc.stdin)
                        stdin = None
                else:
                    _read(sel, key.fd, buffers[key.fd])
        for key, _ in sel.select(0):
            if key.fd in buffers:
                _read(sel, key.fd, buffers[key.fd])
    finally:
        if proc.poll() is None:   # unix.rb's ensure: reap_errant_child
            _terminate(proc)
        sel.close()
        for pipe in (proc.stdin, proc.stdout, proc.stderr):
            _close(pipe)
    out, err = (_text(buffer) for buffer in buffers.values())
    if not timed_out:
        return Completed(proc.returncode, out, err)
    status = "" if proc.returncode < 0 else str(proc.returncode)
    message = (f"Command timed out after {int(counted)}s:\n"
               "Command exceeded allowed execution time, process terminated\n"
               f"---- Begin output of {shown} ----\nSTDOUT: {out.strip()}\n"
               f"STDERR: {err.strip()}\n---- End output of {shown} ----\n"
               f"Ran {shown} returned {status}")
    return Completed(124, out, err, error=message, timed_out=counted)


def _feed(fd: int, pending: memoryview) -> memoryview:
    """Write what the pipe takes; all done (empty) when written or the child closed it."""
    try:
        return pending[os.write(fd, pending[:65536]):] if pending else pending
    except BlockingIOError:
        return pending
    except BrokenPipeError:
        return pending[:0]


def _close(pipe: Any) -> None:
    try:
        if pipe is not None:
            pipe.close()
    except BrokenPipeError:
        pass


def _read(sel: selectors.BaseSelector, fd: int, buffer: bytearray) -> None:
    """Read what is there (read_nonblock until EAGAIN); forget the pipe at EOF."""
    while True:
        try:
            chunk = os.read(fd, 65536)
        except BlockingIOError:
            return
        if not chunk:
            sel.unregister(fd)
            return
        buffer += chunk


def _terminate(proc: subprocess.Popen[bytes]) -> None:
    """unix.rb reap_errant_child: TERM to the process group, 3 s, KILL to the group. The
    3 s end early once the child is reaped and its group is empty (nothing left to KILL)."""
    if proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + TERM_GRACE
    while time.monotonic() < deadline:
        if proc.poll() is not None and not _group_alive(proc.pid):
            return
        time.sleep(0.05)
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    proc.wait()


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _text(data: bytearray) -> str:
    """As text=True decoded it: UTF-8 with replacements, universal newlines."""
    return data.decode("utf-8", "replace").replace("\r\n", "\n").replace("\r", "\n")


def _ruby_class(value: Any) -> str:
    """The class Ruby names in its TypeError for the Python value a recipe passed."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return {int: "Integer", float: "Float", list: "Array", tuple: "Array",
            dict: "Hash"}.get(type(value), type(value).__name__)
