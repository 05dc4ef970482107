"""A plan as text (the terminal), markdown (a pull request's job summary) or JSON (tools).

Per role, environments whose difference is identical are shown once ("memcached in
production, staging, testing"), so a cookbook change reaching four environments reads as one
diff. A role nothing changed in is one line. Everything shown here went through the Redactor
already (plan.py); the renderers add no values of their own.
"""
from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

from harness.ci.plan import Pair, Plan

STATES = ("unchanged", "not reached")


def render(plan: Plan, fmt: str) -> str:
    if fmt == "json":
        return json.dumps(plan.to_json(), indent=2) + "\n"
    if fmt == "markdown":
        return markdown(plan)
    return text(plan)


def groups(pairs: list[Pair]) -> Iterator[tuple[str, list[tuple[list[str], Pair]], dict[str, list[str]]]]:
    """Per role: [(environments, a pair with that outcome)] for changed or failed pairs, and
    the environments per quiet state (unchanged, not reached)."""
    roles: dict[str, list[Pair]] = {}
    for pair in pairs:
        roles.setdefault(pair.role, []).append(pair)
    for role, members in roles.items():
        loud: dict[str, tuple[list[str], Pair]] = {}
        quiet: dict[str, list[str]] = {state: [] for state in STATES}
        for pair in members:
            if pair.status in quiet:
                quiet[pair.status].append(pair.environment)
                continue
            key = json.dumps([pair.status, pair.base, pair.head, pair.diff], sort_keys=True)
            loud.setdefault(key, ([], pair))[0].append(pair.environment)
        yield role, list(loud.values()), quiet


def summary_line(plan: Plan) -> str:
    changed = sorted({p.role for p in plan.pairs if p.status == "changed"})
    failed = sorted({p.role for p in plan.pairs if p.status == "failed"})
    parts = [f"{len(changed)} role(s) change" + (f" ({', '.join(changed)})" if changed else "")]
    if failed:
        parts.append(f"{len(failed)} fail ({', '.join(failed)})")
    return "; ".join(parts)


def _quiet(quiet: dict[str, list[str]]) -> str:
    return "; ".join(f"{state} in {', '.join(envs)}" for state, envs in quiet.items() if envs)


def _head(plan: Plan) -> str:
    return (f"working tree against {plan.ref} (merge base {plan.commit[:12]}): "
            f"{len(plan.changed)} path(s) changed")


def _show(value: Any) -> str:
    return json.dumps(value, sort_keys=True)


def _items(diff: dict[str, Any]) -> Iterator[tuple[str, str, str | None]]:
    """(marker, line, unified diff or None) for each entry of a difference."""
    for cb in diff["cookbooks"]:
        yield "*", f"cookbook {cb['name']} {cb['base'] or '(none)'} -> {cb['head'] or '(none)'}", None
    res = diff["resources"]
    for marker, entries in (("+", res["added"]), ("-", res["removed"])):
        for entry in entries:
            note = " (sensitive: values hidden)" if entry["sensitive"] else ""
            content = entry["properties"].get("content")
            body = None
            if isinstance(content, str) and not entry["sensitive"]:
                body = "".join(f"{marker}{line}\n" for line in content.splitlines())
            yield marker, f"{entry['resource']} ({', '.join(entry['action'])}){note}", body
    for entry in res["changed"]:
        note = " (sensitive: values hidden)" if entry["sensitive"] else ""
        yield "~", f"{entry['resource']}{note}", None
        if "action" in entry:
            yield " ", f"    action: {', '.join(entry['action']['base'])} -> " \
                       f"{', '.join(entry['action']['head'])}", None
        for prop in entry["properties"]:
            if "diff" in prop:
                yield " ", f"    {prop['name']}:", prop["diff"]
            else:
                yield " ", f"    {prop['name']}: {_show(prop['base'])} -> {_show(prop['head'])}", None
    for attr in diff["attributes"]:
        yield "*", f"attribute {attr['path']}: {_show(attr['base'])} -> {_show(attr['head'])}", None


def _where(pair: Pair, envs: list[str]) -> str:
    peers = (f"; peers {', '.join(pair.peers)} from {pair.peers_from}" if pair.peers else "")
    return f"{pair.role} in {', '.join(envs)} (node {pair.node}{peers})"


def _failure(pair: Pair) -> str:
    if pair.head:
        return f"FAILS on the head side: {pair.head}"
    return f"fails on the base side only (the change fixes it): {pair.base}"


def text(plan: Plan) -> str:
    out = [f"Plan: {_head(plan)}"]
    for role, loud, quiet in groups(plan.pairs):
        if not loud:
            out.append(f"role {role}: {_quiet(quiet)}")
            continue
        for envs, pair in loud:
            out.append(f"role {_where(pair, envs)}")
            if pair.status == "failed":
                out.append(f"  {_failure(pair)}")
                continue
            for note in (pair.base, pair.head):
                if note:
                    out.append(f"  note: {note}")
            for marker, line, body in _items(pair.diff or {}):
                out.append(f"  {marker} {line}".rstrip())
                if body:
                    out.extend(f"        {ln}" for ln in body.rstrip("\n").splitlines())
        if any(quiet.values()):
            out.append(f"  {role}: {_quiet(quiet)}")
    out.append(f"Plan: {summary_line(plan)}.")
    return "\n".join(out) + "\n"


def _code(value: str) -> str:
    """Inline code that survives backticks in the value."""
    run = max((len(m) for m in re.findall(r"`+", value)), default=0)
    fence = "`" * (run + 1)
    return f"{fence} {value} {fence}" if run else f"`{value}`"


def _fenced(body: str, lang: str = "diff") -> list[str]:
    run = max((len(m) for m in re.findall(r"`{3,}", body)), default=2)
    fence = "`" * max(3, run + 1)
    return [f"{fence}{lang}", *body.rstrip("\n").splitlines(), fence]


def _cell(value: str) -> str:
    return value.replace("|", "\\|") or " "


MD_WORDS = {"+": "added ", "-": "removed ", "~": "changed ", "*": ""}


def _md_item(marker: str, line: str) -> str:
    if marker == " ":
        return f"  - {_code(line.strip())}"
    return f"- {MD_WORDS[marker]}{_code(line)}"


def markdown(plan: Plan) -> str:
    out = ["## harness plan", "", f"The {_head(plan)}. {summary_line(plan)}.", "",
           "| role | changed in | failed in | unchanged in | not reached in |",
           "|---|---|---|---|---|"]
    sections: list[str] = []
    for role, loud, quiet in groups(plan.pairs):
        changed = [e for envs, p in loud if p.status == "changed" for e in envs]
        failed = [e for envs, p in loud if p.status == "failed" for e in envs]
        out.append("| " + " | ".join(_cell(v) for v in (role, ", ".join(changed),
                   ", ".join(failed), ", ".join(quiet["unchanged"]),
                   ", ".join(quiet["not reached"]))) + " |")
        for envs, pair in loud:
            sections += ["", f"### {_cell(_where(pair, envs))}", ""]
            if pair.status == "failed":
                sections += _fenced(_failure(pair), "text")
                continue
            sections += [f"- note: {_code(n)}" for n in (pair.base, pair.head) if n]
            for marker, line, body in _items(pair.diff or {}):
                sections.append(_md_item(marker, line))
                if body:
                    sections += ["", *_fenced(body), ""]
    return "\n".join(out + sections) + "\n"
