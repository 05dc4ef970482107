"""`harness converge [NODE...]` and `harness verify [SPEC_FILE...]`: the author's inner loop.

Kitchen's converge and verify on a cluster `harness up` (or a kept test run) left running:
converge first brings the cluster's config server up to date with the repo on disk
(harness/nodes/reposync.py), then runs the agent on the nodes in parallel and prints what
changed on each; verify runs role specs with the plugin attached to the live cluster.
"""
from __future__ import annotations

import argparse
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from harness.cli.common import Subparsers
from harness.cli.nodes import add_cluster
from harness.errors import ConvergeError, HarnessError, UsageError
from harness.nodes import state as st
from harness.nodes.passes import Report


def cmd_converge(args: argparse.Namespace) -> int:
    # the engine and testinfra load here, not for `harness verify` (pytest must come first)
    from harness.nodes.attach import attach
    from harness.nodes.engine import ensure_engine
    from harness.nodes.reposync import sync_repo

    state = st.select(args.cluster)
    live = attach(state, ensure_engine(print), reports=False)
    names = list(args.nodes) or list(live.nodes)
    for name in names:
        live.node(name)  # an unknown name is one line, exit 2, before anything changes
    backup = state.get("from_backup")
    assert live.client is not None  # attach() gives the admin client
    print(sync_repo(live.client, Path(state["repo"]),
                    from_backup=Path(backup) if backup else None,
                    environment=state["environment"],
                    roles={n["role"] for n in state["nodes"].values()}), flush=True)
    print(f"converging {', '.join(names)}", flush=True)
    started = time.monotonic()

    def one(name: str) -> Report | HarnessError:
        try:
            return live.converge(name)
        except HarnessError as err:
            return err

    with ThreadPoolExecutor(max_workers=len(names)) as pool:
        results = dict(zip(names, pool.map(one, names), strict=True))
    st.record_action(state, names, "converge")
    failed = 0
    for name, result in results.items():
        if isinstance(result, HarnessError):
            failed += 1
            print(f"{name}: {result.with_log() if isinstance(result, ConvergeError) else result}")
            continue
        changed = result.get("changed") or []
        print(f"{name}: converged in {result.get('seconds', 0):.1f} s, {len(changed)} changed"
              + "".join(f"\n  {resource}" for resource in changed))
    print(f"converged {len(names) - failed} of {len(names)} nodes in "
          f"{time.monotonic() - started:.1f} s")
    return 1 if failed else 0


def cmd_verify(args: argparse.Namespace) -> int:
    # pytest, and the plugin serving the fixtures from the live cluster (--attach); loaded
    # here, before testinfra, so pytest can rewrite its asserts
    import pytest

    class Refusal:
        message: str | None = None

        def pytest_unconfigure(self, config: pytest.Config) -> None:
            from harness.pytest_fixtures import REFUSED  # loaded by pytest by now

            self.message = config.stash.get(REFUSED, None)

    refusal = Refusal()
    state = st.select(args.cluster)
    specs = list(args.specs) or [str(Path(state["repo"]) / "role_specs")]
    argv = [*specs, "--attach", state["name"], "--repo", state["repo"], *args.pytest_args]
    if not args.specs:
        argv.append("--attach-matching")
    code = int(pytest.main(argv, plugins=[refusal]))
    if refusal.message:
        raise UsageError(refusal.message)
    st.record_action(state, list(state["nodes"]), "verify")
    if code == pytest.ExitCode.NO_TESTS_COLLECTED:
        raise HarnessError(f"no role spec for cluster {state['name']}'s roles {state['roles']} "
                           f"in {', '.join(specs)}")
    return code


def register(sub: Subparsers) -> None:
    p = sub.add_parser("converge", help="sync the repo into the running cluster, then run "
                       "the agent on its nodes (all of them by default)")
    p.add_argument("nodes", nargs="*", metavar="NODE")
    add_cluster(p)
    p.set_defaults(handler=cmd_converge)
    p = sub.add_parser("verify", help="run role specs against the running cluster (no "
                       "container is created or removed)")
    p.add_argument("specs", nargs="*", metavar="SPEC_FILE")
    p.add_argument("--pytest-args", nargs=argparse.REMAINDER, default=[],
                   help="passed on to pytest (last)")
    add_cluster(p)
    p.set_defaults(handler=cmd_verify)
