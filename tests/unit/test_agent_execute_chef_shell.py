"""shell.run as Chef's shell_out runs commands on Linux: Ruby's exec of one string (ruby/ruby
process.c rb_exec_fillarg) and mixlib-shellout 3.4 without login (lib/mixlib/shellout/
unix.rb, shellout.rb)."""
from __future__ import annotations

import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from harness.agent import shell

needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="switching users needs root")


@pytest.fixture
def shared_dir() -> Iterator[Path]:
    """A directory any user can reach and write (pytest's tmp_path is under a 0700 one)."""
    path = Path(tempfile.mkdtemp(prefix="harness-chef-"))
    path.chmod(0o777)
    yield path
    shutil.rmtree(path)


@pytest.mark.parametrize("command, argv", [
    ("pgrep -x app", ["pgrep", "-x", "app"]),
    ("a\tb  c ", ["a", "b", "c"]),                       # split on spaces and tabs only
    ("a\x0bb\rc", ["a\x0bb\rc"]),
    ("cd /tmp", ["cd", "/tmp"]),                         # not a special built-in: exec'd
    ("command -v foo", ["command", "-v", "foo"]),
    ("exit2", ["exit2"]),
    ("env FOO=1 x", ["env", "FOO=1", "x"]),              # `=` after the first word
    ("/usr/bin/env FOO=1", ["/usr/bin/env", "FOO=1"]),
    ("./a=b", ["./a=b"]),                                 # `=` after a `/`: no assignment
    ("echo 50%", ["echo", "50%"]),                        # `%` is listed but not checked
    ("", []),
])
def test_strings_ruby_execs_directly(command, argv):
    """rb_exec_fillarg: no meta character, no `=` in the first word before a `/`, a first
    word not in posix_sh_cmds: the words are exec'd, split on ' ' and '\\t'."""
    assert shell.ruby_argv(command) == argv


@pytest.mark.parametrize("command", [
    "echo a; echo b", "ls *", "ls ?", "echo {a,b}", "ls [ab]", "a < b", "a > b", "(a)",
    "echo ~", "a & b", "a | b", "a\\ b", "echo $HOME", "echo 'x'", "echo `x`", 'echo "x"',
    "a\nb", "a #b", "FOO=1 env", "x=1", "exit 3", "  exit", "! true", ". /etc/profile",
    ": ok", "set -e", "export A", "unset A", "eval x", "exec true", "trap x", "times",
    "if", "while", "readonly", "return", "shift", "break", "continue", "until",
])
def test_strings_that_go_to_the_shell(command):
    """The meta characters `*?{}[]<>()~&|\\$;'`"`, newline and `#`, an assignment first,
    or a reserved word / special built-in first (posix_sh_cmds) mean /bin/sh -c."""
    assert shell.ruby_argv(command) is None


def test_a_missing_program_is_an_exec_error_not_exit_127():
    """exec without a shell raises Errno::ENOENT "No such file or directory - NAME"
    (rb_f_exec: rb_syserr_fail_str(err, command_name)); through the shell it is sh's 127."""
    done = shell.run("no-such-prog-xyz --flag")
    assert (done.rc, done.error) == (127, "No such file or directory - no-such-prog-xyz")
    assert shell.run("cd /tmp").error == "No such file or directory - cd", "no /usr/bin/cd"
    through_sh = shell.run("no-such-prog-xyz --flag; true")
    assert (through_sh.rc, through_sh.error) == (0, None)
    assert shell.run("exit 3").rc == 3


def test_a_file_without_an_interpreter_line_runs_with_sh(tmp_path):
    """process.c proc_exec_cmd: on ENOEXEC Ruby runs the file with /bin/sh."""
    script = tmp_path / "job"
    script.write_text("echo ran $1\n")
    script.chmod(0o755)
    assert shell.run(f"{script} arg").out == "ran arg\n"


@needs_root
def test_user_switches_only_the_uid():
    """Without login: gid nil unless `group` (shellout.rb gid), sgids nil (unix.rb:53), no
    logon_environment (unix.rb:62), so only `Process.uid = uid` (unix.rb:149): the group,
    the supplementary groups and HOME/USER/LOGNAME stay chef-client's."""
    done = shell.run("id -un; id -g; id -G; echo \"$HOME|${USER-}|${LOGNAME-}\"", user="nobody")
    name, gid, groups, env = done.out.splitlines()
    assert (name, int(gid)) == ("nobody", os.getgid())
    assert sorted(map(int, groups.split())) == sorted({os.getgid(), *os.getgroups()})
    assert env == "|".join(os.environ.get(k, "") for k in ("HOME", "USER", "LOGNAME"))


@needs_root
def test_environment_wins_over_anything_user_would_set():
    """unix.rb:73 `logon_environment.merge(environment)`: the resource's environment wins."""
    assert shell.run("echo $HOME", user="nobody", env={"HOME": "/srv/app"}).out == "/srv/app\n"


@needs_root
def test_cwd_is_entered_as_the_user(shared_dir):
    """The child runs set_user before set_cwd (unix.rb fork_subprocess), so a directory the
    user cannot enter fails the command (the child dies before exec, exit 1)."""
    private = shared_dir / "private"
    private.mkdir(mode=0o700)
    marker = shared_dir / "ran"
    assert shell.run(f"touch {marker}", user="nobody", cwd=str(shared_dir)).rc == 0
    marker.unlink()
    done = shell.run(f"touch {marker}", user="nobody", cwd=str(private))
    assert done.rc == 1 and not marker.exists() and "cannot change directory" in done.err
    assert shell.run("pwd", cwd=str(private)).out == f"{private}\n", "root may"


def test_environment_values_must_be_strings_and_none_unsets(tmp_path):
    """unix.rb set_environment does `ENV[env_var] = value` in the forked child, before exec:
    an Integer raises TypeError ("no implicit conversion of Integer into String"), the child
    exits 1 and the command never runs; `ENV[k] = nil` deletes the variable."""
    marker = tmp_path / "ran"
    done = shell.run(f"touch {marker}", env={"WORKERS": 4})
    assert done.rc == 1 and not marker.exists()
    assert done.err == ("environment 'WORKERS': no implicit conversion of Integer into String "
                        "(TypeError)")
    assert "of true into String" in shell.run("true", env={"DEBUG": True}).err
    assert shell.run("echo ${HOME-unset}", env={"HOME": None}).out == "unset\n"


def _alive(pid: int, settle: float = 2.0) -> bool:
    """Whether pid still runs (a zombie does not), after giving a signal already sent up to
    `settle` s to land: kill(2) returns before its target dies, and a loaded machine can
    take a moment to schedule it (the command's own wait covers only its direct child)."""
    deadline = time.monotonic() + settle
    while True:
        try:
            running = Path(f"/proc/{pid}/stat").read_text().split(") ")[1][0] != "Z"
        except (FileNotFoundError, IndexError):
            return False
        if not running or time.monotonic() >= deadline:
            return running
        time.sleep(0.02)


def test_timeout_terminates_the_whole_process_group(tmp_path):
    """unix.rb: the child leads its own session (Process.setsid, :337) and on timeout its
    whole group gets TERM (:384): a grandchild gets it too (before any KILL)."""
    marker, pidfile = tmp_path / "got", tmp_path / "pid"
    done = shell.run(f"(trap 'echo TERM > {marker}; exit 0' TERM; sleep 27 & wait) & "
                     f"echo $! > {pidfile}; wait", timeout=2)  # 2 s: the trap is set by then
    assert done.timed_out is not None and done.timed_out >= 2
    assert marker.read_text() == "TERM\n" and not _alive(int(pidfile.read_text()))


def test_a_timeout_is_chefs_command_timeout():
    """unix.rb:120 `raise CommandTimeout, "Command timed out after #{@execution_time.to_i}s:
    \n#{format_for_exception}"`; format_for_exception (shellout.rb) gives the terminate
    reason, the output and "Ran COMMAND returned" with no status (killed by a signal)."""
    done = shell.run("echo started; exec sleep 27", timeout=1)
    assert done.error is not None and done.error.splitlines() == [
        "Command timed out after 1s:",
        "Command exceeded allowed execution time, process terminated",
        "---- Begin output of echo started; exec sleep 27 ----",
        "STDOUT: started", "STDERR: ",
        "---- End output of echo started; exec sleep 27 ----",
        "Ran echo started; exec sleep 27 returned "]
    assert done.out == "started\n" and done.rc == 124


def test_timeout_kills_what_ignores_term_after_three_seconds(tmp_path):
    """reap_errant_child: TERM to the group, `sleep 3`, KILL to the group."""
    pidfile = tmp_path / "pid"
    started = time.monotonic()
    done = shell.run(f"trap '' TERM; sleep 27 & echo $! > {pidfile}; wait", timeout=1)
    took = time.monotonic() - started
    assert done.timed_out is not None and 1 + 3.0 <= took < 20, took   # KILL, not sleep's end
    assert not _alive(int(pidfile.read_text()))


def test_output_is_read_until_the_child_exits_not_until_the_pipes_close():
    """run_command loops `until @status` (the child reaped), then reads what is there once:
    a background process still holding stdout does not keep the command running."""
    started = time.monotonic()
    done = shell.run("sleep 3 & echo now")
    assert (done.rc, done.out) == (0, "now\n") and time.monotonic() - started < 2.5
