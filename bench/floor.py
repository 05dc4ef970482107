"""Benchmark: the engine's and systemd's own floor per node, next to what the harness adds.

Not a test: run it by hand (bench/README.md) and record the medians in docs/benchmarks.md.

    .venv/bin/python bench/floor.py [--image IMAGE] [--nodes 1] [--runs 5]

Issue 12's item 6 counts everything but the agent's resources and the spec's tests as harness
overhead (bench/nodes.py). Part of that is not the harness's to cut: starting a container,
booting systemd in it and removing it cost what they cost on this engine and kernel, whoever
asks. This bench does only those steps, through the harness's own Backend calls and node flags
(so the figures are the floor under bench/nodes.py's, not a docker CLI's): create the network,
start N nodes at once (run_node), wait for each boot (the same in-node loop the bootstrap
exec runs first), time one `docker exec true` and one `python3 -c pass` per node, then remove
the nodes and the network the way a cluster's background teardown does (remove_by_labels:
`rm -f` of every node while the network is detached and removed).
Everything carries a session label, and is removed in a `finally`; `harness clean` sweeps
what a killed run leaves.
"""
from __future__ import annotations

import argparse
import secrets
import statistics
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from harness.nodes.backend import DockerBackend  # noqa: E402
from harness.nodes.bootstrap import WAIT_BOOT  # noqa: E402
from harness.nodes.engine import ensure_engine  # noqa: E402
from harness.nodes.labels import SESSION, node_labels  # noqa: E402
from harness.nodes.ramdisk import RAM_DIRS  # noqa: E402

T = TypeVar("T")
STEPS = ("network", "start", "boot", "exec_true", "python_start", "removal")


def default_image(backend: DockerBackend) -> str:
    """The newest package layer (what a warm node boots from), else the bookworm base."""
    layers = sorted(backend.list_images("harness.layer"), key=lambda i: i["created"])
    if layers and layers[-1]["tags"]:
        return str(layers[-1]["tags"][0])
    return "harness/base:bookworm"


def timed(fn: Callable[..., T], *args: Any) -> tuple[float, T]:
    started = time.monotonic()
    result = fn(*args)
    return time.monotonic() - started, result


def one_run(backend: DockerBackend, image: str, nodes: int, ram: bool) -> dict[str, float]:
    """One cluster's worth of floor: per-node steps are medians over the nodes of the run."""
    session = f"floor-{secrets.token_hex(3)}"
    labels = node_labels(session, "floor")
    network = f"h-{session}"
    out: dict[str, list[float]] = {step: [] for step in STEPS}
    try:
        seconds, _ = timed(backend.create_network, network, labels)
        out["network"].append(seconds)

        def node(i: int) -> None:
            name = f"floor-{i + 1}"
            seconds, _ = timed(backend.run_node, image, f"h-{session}-{name}", name, network,
                               [name], node_labels(session, "floor", "floor", name),
                               RAM_DIRS if ram else ())
            out["start"].append(seconds)
            started = time.monotonic()
            _, state = backend.exec(f"h-{session}-{name}", ["sh", "-c", WAIT_BOOT])
            out["boot"].append(time.monotonic() - started)
            if state.strip().splitlines()[-1:] not in (["running"], ["degraded"]):
                raise SystemExit(f"floor: {name} did not boot: {state.strip()[-200:]}")
            out["exec_true"].append(timed(backend.exec, f"h-{session}-{name}", ["true"])[0])
            out["python_start"].append(timed(backend.exec, f"h-{session}-{name}",
                                             ["python3", "-c", "pass"])[0])

        with ThreadPoolExecutor(nodes) as pool:
            list(pool.map(node, range(nodes)))
        out["removal"].append(timed(backend.remove_by_labels, {SESSION: session})[0])
    finally:
        backend.remove_by_labels({SESSION: session})
    return {step: statistics.median(v) for step, v in out.items() if v}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--image", help="node image (default: the newest package layer)")
    parser.add_argument("--nodes", type=int, default=1, help="nodes started at once (default 1)")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--node-disk", choices=("ram", "disk"), default="ram")
    args = parser.parse_args()
    backend = ensure_engine(print)
    assert isinstance(backend, DockerBackend)
    image = args.image or default_image(backend)
    print(f"floor: {args.runs} run(s) of {args.nodes} node(s) from {image}, "
          f"/usr and /var {'in RAM' if args.node_disk == 'ram' else 'on disk'}")
    runs = []
    for i in range(args.runs):
        runs.append(one_run(backend, image, args.nodes, args.node_disk == "ram"))
        print(f"run {i + 1}: " + ", ".join(f"{k} {v * 1000:.0f} ms" for k, v in runs[-1].items()))
    med = {step: statistics.median(r[step] for r in runs) for step in STEPS}
    print("medians: " + ", ".join(f"{k} {v * 1000:.0f} ms" for k, v in med.items()))
    floor = med["start"] + med["boot"] + med["removal"]
    print(f"floor per cluster of {args.nodes} on the critical path (start + boot + removal; "
          f"the network is made while the server restores): {floor:.2f} s, "
          f"{floor / args.nodes:.2f} s per node")
    return 0


if __name__ == "__main__":
    sys.exit(main())
