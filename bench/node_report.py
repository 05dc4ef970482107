"""Analysis and printing for bench/nodes.py: per-node phases, overhead, medians over runs."""
from __future__ import annotations

import re
import statistics
from datetime import datetime

SHARED = ("engine", "image", "network", "server")  # cluster_timings phases before the nodes

from node_recorder import _sum_resources


# ---------------------------------------------------------------------------------------------
# Analysis
# ---------------------------------------------------------------------------------------------
def _dt(text: str) -> datetime:
    return datetime.strptime(text.strip(), "%Y-%m-%d %H:%M:%S")


def apt_phases(log: str) -> dict[str, float]:
    """{package named on the command line: seconds apt spent in dpkg} from apt's history.

    apt writes Start-Date after the download, when it hands the archives to dpkg, and End-Date
    when dpkg (unpack, configure, triggers) is done; whole seconds (the log's resolution)."""
    history = log.partition("=== dpkg.log")[0]
    out: dict[str, float] = {}
    for block in history.strip().split("\n\n"):
        fields = dict(line.split(": ", 1) for line in block.splitlines() if ": " in line)
        if "Start-Date" not in fields or "End-Date" not in fields:
            continue
        seconds = (_dt(fields["End-Date"].replace("  ", " "))
                   - _dt(fields["Start-Date"].replace("  ", " "))).total_seconds()
        pkg = fields.get("Commandline", "?").split()[-1].split("=")[0]
        out[pkg] = out.get(pkg, 0.0) + seconds
    return out


def pass_labels(timings: dict) -> list[str]:
    return [k for k in timings if k not in ("container", "systemd")]


def analyse(doc: dict, wall: float) -> list[dict]:
    """Per cluster: per-node rows and the cluster's shared figures."""
    results = []
    for cl in doc["clusters"]:
        nodes = cl["nodes"]
        n = len(nodes)
        ct = cl["cluster_timings"]
        tests = [t for t in doc["tests"] if t["nodeid"].split("::")[0] == cl["module"]]
        test_total = sum(t["seconds"] for t in tests)
        up_fx, teardown = cl.get("up_fixture") or 0.0, cl.get("teardown") or 0.0
        inspect = cl.get("inspect_seconds") or 0.0     # this bench's own probes, not counted
        verify_total = test_total - inspect - up_fx - teardown  # the tests' own phases
        # the module's first setup carries the cluster's up(), its last teardown the cluster's
        # down() (and this bench's probes): take them out of the test that carries them
        tests = [dict(x) for x in tests]
        setups = [x for x in tests if x["when"] == "setup"]
        teardowns = [x for x in tests if x["when"] == "teardown"]
        if setups:
            setups[0]["seconds"] -= up_fx
        if teardowns:
            teardowns[-1]["seconds"] -= teardown + inspect
        shared_tests = sum(t["seconds"] for t in tests if not t["node"])
        # what the cluster did outside its nodes' phases
        inner = sum(ct.get(k, 0.0) for k in ("engine", "image", "network", "server", "nodes",
                                             "settle", "idempotence"))
        other_up = max(0.0, ct.get("total", 0.0) - inner)  # validator client, reaper, threads
        settle_checks = max(0.0, ct.get("settle", 0.0) - max(
            (sum(v for k, v in nd["timings"].items() if k.startswith("converge_"))
             for nd in nodes.values()), default=0.0))
        # the removal of the stopped nodes' disk layers runs in the background; what is left
        # of it when the session ends is waited for (before exit): that part is counted
        exit_wait = cl.get("exit_wait") or 0.0
        process = max(0.0, wall - doc["session_seconds"]) + max(
            0.0, doc["session_seconds"] - test_total - exit_wait)  # interpreter, collection
        shared = {k: ct.get(k, 0.0) for k in SHARED}
        shared.update({"validator+reaper": other_up, "settle checks": settle_checks,
                       "fixture (up() outside)": max(0.0, up_fx - ct.get("total", 0.0)),
                       "pytest process": process, "teardown": teardown,
                       "removal wait at exit": exit_wait})
        rows = {}
        for name, nd in sorted(nodes.items()):
            t, reports = nd["timings"], nd["reports"]
            labels = pass_labels(t)
            passes = []
            for i, label in enumerate(labels):
                rep = reports[i] if i < len(reports) else {}
                passes.append({"label": label, "wall": t[label],
                               "agent": float(rep.get("seconds") or 0.0),
                               "resources": _sum_resources(rep)})
            boot = passes[0]
            res_time: dict[str, float] = {}
            for rep in reports[:len(labels)]:
                for r in rep["resources"]:
                    key = f"{r['resource']} {r['action']}"
                    res_time[key] = res_time.get(key, 0.0) + float(r.get("seconds") or 0.0)
            pkg = sum(r["seconds"] for r in reports[0]["resources"]
                      if r["resource"].startswith("package[")) if reports else 0.0
            apt_update = sum(r["seconds"] for r in reports[0]["resources"]
                             if "apt-get update" in r["resource"]) if reports else 0.0
            dpkg = apt_phases(cl.get("node_logs", {}).get(name, ""))
            apt = []  # (package, resource seconds, of which dpkg)
            for r in (reports[0]["resources"] if reports else []):
                m = re.fullmatch(r"package\[(.+)\]", r["resource"])
                if m and r.get("changed"):
                    apt.append((m.group(1), float(r["seconds"]), dpkg.get(m.group(1))))
            own_tests = sum(x["seconds"] for x in tests if x["node"] == name)
            # the module's first test carries the cluster's setup, its last the teardown
            verify = own_tests + shared_tests / n
            overhead = {
                "container": t.get("container", 0.0),
                "systemd": t.get("systemd", 0.0),
                "bootstrap outside agent": boot["wall"] - boot["agent"],
                "agent beyond resources (bootstrap)": boot["agent"] - boot["resources"],
                "later passes beyond resources": sum(p["wall"] - p["resources"]
                                                     for p in passes[1:]),
                "shared / nodes": sum(v for k, v in shared.items() if k != "pytest process") / n,
            }
            rows[name] = {"role": nd["role"], "timings": t, "passes": passes,
                          "top": sorted(res_time.items(), key=lambda kv: -kv[1])[:6],
                          "packages": pkg, "apt_update": apt_update, "verify": verify,
                          "overhead": overhead, "overhead_total": sum(overhead.values()),
                          "apt": apt,
                          "probes": cl.get("probes", {}).get(name, {})}
        results.append({"name": cl["name"], "module": cl["module"], "wall": wall,
                        "critical": critical_path(ct, rows, teardown, exit_wait),
                        "cluster_timings": ct, "shared": shared, "verify_total": verify_total,
                        "up_fixture": up_fx, "teardown": teardown, "nodes": rows,
                        "removal": cl.get("removal") or 0.0,
                        "tests": sorted(((x["nodeid"].split("::", 1)[1], x["when"], x["seconds"])
                                         for x in tests if x["seconds"] > 1.0),
                                        key=lambda x: -x[2])[:8]})
    return results


def critical_path(ct: dict, rows: dict, teardown: float, exit_wait: float) -> dict:
    """The overhead the spec's wall time carries (the sum per node above does not credit
    work that overlaps): up() + teardown + the wait at exit, minus the agent's resources of
    the node that finished its bootstrap last and of the slowest node of every later pass."""
    last = max(rows.values(), key=lambda x: sum(x["timings"].get(k, 0.0)
                                                for k in ("container", "systemd", "bootstrap")))
    labels = {p["label"] for x in rows.values() for p in x["passes"][1:]}
    passes = sum(max(p["resources"] for x in rows.values() for p in x["passes"][1:]
                     if p["label"] == label) for label in labels)
    total = (ct.get("total", 0.0) - last["passes"][0]["resources"] - passes
             + teardown + exit_wait)
    return {"total": total, "per_node": total / len(rows)}


def print_run(res: dict) -> None:
    ct = res["cluster_timings"]
    print(f"\n== cluster {res['name']} ({res['module']}): pytest wall {res['wall']:.1f} s; "
          f"up() {ct.get('total', 0):.1f} s = nodes {ct.get('nodes', 0):.1f} + settle "
          f"{ct.get('settle', 0):.1f} + idempotence {ct.get('idempotence', 0):.1f} + server "
          f"{ct.get('server', 0):.2f} + network {ct.get('network', 0):.2f} + image "
          f"{ct.get('image', 0):.2f} + engine {ct.get('engine', 0):.2f}; tests "
          f"{res['verify_total']:.1f} s; teardown {res['teardown']:.2f} s (then disk layers "
          f"removed in the background in {res['removal']:.2f} s)")
    print("   shared: " + ", ".join(f"{k} {v:.2f}" for k, v in res["shared"].items()))
    print(f"   overhead on the critical path (wall): {res['critical']['total']:.2f} s = "
          f"{res['critical']['per_node']:.2f} s per node")
    for name, row in res["nodes"].items():
        t = row["timings"]
        boot = row["passes"][0]
        print(f"-- {name}: container {t.get('container', 0):.2f}  systemd {t.get('systemd', 0):.2f}"
              f"  bootstrap {boot['wall']:.1f} (agent run {boot['agent']:.1f}, resources "
              f"{boot['resources']:.1f}; packages {row['packages']:.1f}, apt-get update "
              f"{row['apt_update']:.1f})  verify {row['verify']:.1f}")
        for p in row["passes"][1:]:
            print(f"   pass {p['label']}: {p['wall']:.2f} s (agent {p['agent']:.2f}, resources "
                  f"{p['resources']:.2f})")
        print("   top resources: " + "; ".join(f"{k} {v:.1f}" for k, v in row["top"]))
        if row["apt"]:
            print("   package installs (resource s / of which dpkg s): " + "; ".join(
                f"{p} {s:.1f}/{'?' if d is None else f'{d:.0f}'}" for p, s, d in row["apt"]))
        if row["probes"]:
            print("   probes: " + ", ".join(_probe(k, v) for k, v in row["probes"].items()))
        print(f"   harness overhead {row['overhead_total']:.2f} s: "
              + ", ".join(f"{k} {v:.2f}" for k, v in row["overhead"].items()))
    if res["tests"]:
        print("   slowest test phases: " + "; ".join(f"{n} [{w}] {s:.1f}"
                                                     for n, w, s in res["tests"]))


def _probe(key: str, value: float) -> str:
    return f"{key} {value:.0f}" if key.endswith("_MB") else f"{key} {value * 1000:.0f} ms"


def med(values: list[float]) -> float:
    return statistics.median(values) if values else 0.0


def print_medians(all_runs: list[list[dict]]) -> None:
    by_cluster: dict[str, list[dict]] = {}
    for run in all_runs:
        for res in run:
            by_cluster.setdefault(res["module"], []).append(res)
    for module, runs in by_cluster.items():
        print(f"\n== medians over {len(runs)} run(s): {module}")
        print(f"   pytest wall {med([r['wall'] for r in runs]):.1f} s (runs: "
              + ", ".join(f"{r['wall']:.1f}" for r in runs) + f"); up() "
              f"{med([r['cluster_timings'].get('total', 0) for r in runs]):.1f} s; tests "
              f"{med([r['verify_total'] for r in runs]):.1f} s; teardown "
              f"{med([r['teardown'] for r in runs]):.2f} s")
        for key in ("nodes", "settle", "idempotence", "server", "layer", "network", "image",
                    "engine"):
            print(f"   cluster {key:12s} {med([r['cluster_timings'].get(key, 0) for r in runs]):7.2f} s")
        for key in runs[0]["shared"]:
            print(f"   shared  {key:24s} {med([r['shared'][key] for r in runs]):6.2f} s")
        names = sorted(runs[0]["nodes"])
        cols = ["container", "systemd", "bootstrap", "agent run", "resources", "packages",
                "passes", "verify", "overhead"]
        print("   " + f"{'node':14s}" + "".join(f"{c:>11s}" for c in cols))
        for name in names:
            rows = [r["nodes"][name] for r in runs if name in r["nodes"]]
            vals = [
                med([x["timings"].get("container", 0) for x in rows]),
                med([x["timings"].get("systemd", 0) for x in rows]),
                med([x["passes"][0]["wall"] for x in rows]),
                med([x["passes"][0]["agent"] for x in rows]),
                med([x["passes"][0]["resources"] for x in rows]),
                med([x["packages"] for x in rows]),
                med([sum(p["wall"] for p in x["passes"][1:]) for x in rows]),
                med([x["verify"] for x in rows]),
                med([x["overhead_total"] for x in rows]),
            ]
            print("   " + f"{name:14s}" + "".join(f"{v:11.2f}" for v in vals))
        print("   overhead parts (median over nodes and runs):")
        for key in runs[0]["nodes"][names[0]]["overhead"]:
            value = med([x['overhead'][key] for r in runs for x in r['nodes'].values()])
            print(f"     {key:36s} {value:6.2f} s")
        passes: dict[str, list[tuple[float, float, float]]] = {}
        for r in runs:
            for x in r["nodes"].values():
                for p in x["passes"][1:]:
                    passes.setdefault(p["label"], []).append((p["wall"], p["agent"], p["resources"]))
        for label, vals in passes.items():
            print(f"   pass {label:12s} wall {med([v[0] for v in vals]):5.2f}  agent "
                  f"{med([v[1] for v in vals]):5.2f}  resources {med([v[2] for v in vals]):5.2f} s")
        probes: dict[str, list[float]] = {}
        for r in runs:
            for x in r["nodes"].values():
                for k, v in x["probes"].items():
                    probes.setdefault(k, []).append(v)
        if probes:
            print("   probes: " + ", ".join(_probe(k, med(v)) for k, v in probes.items()))
        pkg_rows = [(s, d) for r in runs for x in r["nodes"].values() for _, s, d in x["apt"]
                    if d is not None]
        if pkg_rows:
            per_node = [(sum(s for _, s, _ in x["apt"]), sum(d for *_, d in x["apt"]))
                        for r in runs for x in r["nodes"].values()
                        if x["apt"] and all(d is not None for *_, d in x["apt"])]
            print(f"   package installs per node: median {med([p[0] for p in per_node]):.1f} s, "
                  f"of which dpkg {med([p[1] for p in per_node]):.0f} s (apt history, 1 s "
                  "resolution); the rest is resolving + downloading")
        crit = [r["critical"] for r in runs if "critical" in r]
        if crit:
            print(f"   harness overhead on the spec's critical path (wall): median "
                  f"{med([c['total'] for c in crit]):.2f} s = "
                  f"{med([c['per_node'] for c in crit]):.2f} s per node (runs: "
                  + ", ".join(f"{c['per_node']:.2f}" for c in crit) + ")")
        overall = med([x["overhead_total"] for r in runs for x in r["nodes"].values()])
        local = med([x['overhead_total'] - x['overhead']['shared / nodes']
                     for r in runs for x in r['nodes'].values()])
        print(f"   harness overhead per node: median {overall:.2f} s (target < 2 s); of which "
              "node-local (container, systemd, bootstrap and passes beyond the agent's "
              f"resources) {local:.2f} s; not counted: "
              f"pytest start + collection {med([r['shared']['pytest process'] for r in runs]):.2f} s per run")
