"""One agent run: policy + cookbooks from the server, compile, converge, save, report.

`Run` is used by the CLI on nodes; `why_run()` is the same code called in-process on the
host by the unit-test layer (like ChefSpec), against an in-process config server.
"""
from __future__ import annotations

import copy
import datetime
import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from . import ohai, shell
from .api import Api
from .converge import Converger
from .cookbooks import FileCache, fetch_cookbooks
from .crypto import decrypt_item, is_encrypted
from .errors import AgentError, ConfigError, DecryptError, NotFound, RecipeError, ResourceFailure
from .fileutil import ruby_inspect, ruby_to_s
from .node import Node, SearchNode, deep_merge
from .recipe import Compiler
from .resource import Context, Resource


class Run:
    """A converge (or why-run) of one node; `execute()` returns the report."""

    def __init__(self, api: Api, node_name: str, *, why_run: bool = False,
                 secret: bytes | None = None, cache: FileCache | None = None,
                 facts: dict[str, Any] | None = None, run: shell.Runner = shell.run,
                 out: Callable[[str], None] | None = None) -> None:
        self.api = api
        self.node_name = node_name
        self.why_run = why_run
        self.secret = secret
        self.cache = cache or FileCache()
        self.facts = facts
        self.out = out or (lambda line: print(line, flush=True))
        self.ctx = Context(run=run, out=self.out, why_run=why_run)
        self.searches: dict[tuple[str, str], list[str]] = {}
        self.items: dict[tuple[str, str], dict[str, Any]] = {}
        self.compiler: Compiler | None = None

    # -- the recipe-facing API -------------------------------------------------------------
    def search(self, index: str, query: str = "*:*") -> list[dict[str, Any]]:
        """Rows in the server's order, as Chef's search/query.rb maps them (no sort on the
        client: a recipe that needs an order sorts); node rows also answer merged
        attributes (n["ipaddress"]). The settle record keeps the names sorted."""
        rows = self.api.search(index, query)
        if index == "node":
            rows = [SearchNode(row) for row in rows]
        self.searches[(index, query)] = sorted(_row_name(r) for r in rows)
        return rows

    def data_bag_item(self, bag: str, item: str) -> dict[str, Any]:
        """The item, decrypted when encrypted (needs the secret file). A fresh copy on every
        call, as Chef's data_query.rb loads a new DataBagItem per call (the caller owns it:
        a recipe that deletes a key does not change what the next caller gets); the fetch
        and decryption are cached per run. Names are checked first and the item is read as
        DataBagItem.from_hash reads it (chef_type, json_class, data_bag removed; a wrapped
        item's raw_data)."""
        _check_bag_name(bag)
        if not isinstance(item, str) or not VALID_ID.search(item):
            raise RecipeError("Data Bag items must have an id matching "
                              f"/^[\\.\\-[:alnum:]_]+$/, you gave: {ruby_inspect(item)}")
        if (bag, item) not in self.items:
            try:
                doc = from_hash(self.api.get(f"/data/{bag}/{item}"))
            except NotFound:
                raise NotFound(f"data bag item {bag}/{item} does not exist", 404) from None
            if is_encrypted(doc):
                if self.secret is None:
                    raise DecryptError(f"data bag item {bag}/{item} is encrypted but the "
                                       "agent has no secret_file")
                doc = decrypt_item(doc, self.secret, where=f"data bag item {bag}/{item}")
            self.items[(bag, item)] = doc
        return copy.deepcopy(self.items[(bag, item)])

    def data_bag(self, bag: str) -> list[str]:
        _check_bag_name(bag)
        return sorted(self.api.get(f"/data/{bag}"))

    # -- the run ---------------------------------------------------------------------------
    def prepare(self) -> None:
        """Node, policy, facts and cookbooks: everything before the compile phase."""
        try:
            self.node_doc = self.api.get(f"/nodes/{self.node_name}")
        except NotFound:
            raise ConfigError(f"node {self.node_name} is not registered on "
                             f"{self.api.url} (run `register` first)") from None
        self.policy = self.api.get(f"/nodes/{self.node_name}/policy")
        env = self.policy.get("chef_environment", "_default")
        self.out(f"Starting harness agent {'why-run ' if self.why_run else ''}for "
                 f"{self.node_name} (environment {env})")
        self.out("Run list: " + ", ".join(self.policy.get("expanded_run_list", [])))
        facts = self.facts if self.facts is not None else ohai.collect(self.api.url)
        self.automatic = deep_merge(facts, {
            "roles": self.policy.get("roles", []),
            "recipes": with_duplicate_names(self.policy.get("recipes", [])),
            "expanded_run_list": self.policy.get("recipes", [])})
        self.ctx.node = Node(self.node_name, env, {}, levels=self.attribute_levels(),
                             data_bag_item=self.data_bag_item)
        self.ctx.cookbooks = fetch_cookbooks(self.api, self.policy.get("cookbook_versions", {}),
                                             self.cache, self.out)

    def compile(self) -> Converger:
        self.out("Compiling cookbooks")
        self.compiler = Compiler(self.ctx, {"search": self.search,
                                            "data_bag_item": self.data_bag_item,
                                            "data_bag": self.data_bag})
        for recipe in self.policy.get("recipes", []):
            self.compiler.include_recipe(recipe)
        for warning in self.ctx.node.warnings:
            self.out(f"WARNING: {warning}")
        converger = Converger(self.ctx, self.compiler.resources)
        self.out(f"Converging {len(self.compiler.resources)} resources"
                 + (" (why-run: nothing is changed)" if self.why_run else ""))
        return converger

    def attribute_levels(self) -> dict[str, Any]:
        """Chef's components: the policy's (server side), `normal` from the stored node (it
        persists between runs, as in Chef), `automatic` from the facts. A policy without
        levels (an older server) has its merged attributes as one `default` level."""
        levels = dict(self.policy.get("attribute_levels")
                      or {"default": self.policy.get("attributes", {})})
        levels["normal"] = self.node_doc.get("normal") or {}
        levels["automatic"] = self.automatic
        return levels

    def save_node(self) -> None:
        """chef-client's end-of-run `node.save` (Chef::Node#save / #for_json): the node as
        this run loaded it, so its chef_environment and run_list are those of the start (a
        flip made while the run went on is overwritten, as in Chef), with combined default,
        normal (the stored node's plus the recipes' node.normal writes), combined override,
        and automatic (facts, roles, recipes including those include_recipe loaded)."""
        doc = copy.deepcopy(self.node_doc)
        for key in ("chef_environment", "run_list"):  # what the policy was compiled from
            if key in self.policy:
                doc[key] = self.policy[key]
        doc.update(self.ctx.node.saved_levels())
        doc["automatic"] = self.ctx.node.saved_automatic()
        self.api.put(f"/nodes/{self.node_name}", doc)

    def execute(self) -> dict[str, Any]:
        """The whole run; failures of recipes/resources go into the report, not raised."""
        started_at = datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")
        t0 = time.monotonic()
        failure = None
        converger: Converger | None = None
        self.prepare()
        try:
            converger = self.compile()
            converger.run()
            if not self.why_run:  # client.rb converge_and_save: only after a good converge
                self.save_node()
        except (RecipeError, ResourceFailure) as exc:
            failure = {"resource": exc.resource or "recipe", "message": _message(exc)}
        seconds = round(time.monotonic() - t0, 3)
        changed = converger.changed if converger else []
        self.out(f"Run {'failed' if failure else 'complete'}: {len(changed)} of "
                 f"{len(converger.entries) if converger else 0} resource actions changed "
                 f"in {seconds:.1f}s")
        return {"node": self.node_name, "status": "failure" if failure else "success",
                "started_at": started_at, "seconds": seconds, "why_run": self.why_run,
                "resources": converger.entries if converger else [],
                "changed": list(changed), "failure": failure,
                "searches": [{"index": i, "query": q, "names": names}
                             for (i, q), names in self.searches.items()]}

    def post_report(self, report: dict[str, Any]) -> None:
        self.api.post(f"/reports/nodes/{self.node_name}/runs", report)


def _row_name(row: dict[str, Any]) -> str:
    return str(row.get("name") or row.get("id") or "")


def _message(exc: AgentError) -> str:
    where = getattr(exc, "defined_at", None)
    return f"{exc} (declared at {where})" if where else str(exc)


# chef/chef lib/chef/data_bag.rb VALID_NAME and data_bag_item.rb VALID_ID: Ruby's `^...$`
# match at any line and [[:alnum:]] is Unicode, as `re.M` and `\w` are
VALID_ID = re.compile(r"^[\w.\-]+$", re.M)


def _check_bag_name(bag: Any) -> None:
    """data_query.rb: `DataBag.validate_name!(bag.to_s)` before any fetch."""
    if not VALID_ID.search(ruby_to_s(bag)):
        raise RecipeError("DataBags must have a name matching /^[\\.\\-[:alnum:]_]+$/, you "
                          f"gave {ruby_inspect(ruby_to_s(bag))}")


def from_hash(doc: Any) -> Any:
    """Chef::DataBagItem.from_hash: chef_type and json_class deleted, data_bag taken out,
    raw_data (a wrapped item) or the hash itself is the item."""
    if not isinstance(doc, dict):
        return doc
    doc = {k: v for k, v in doc.items() if k not in ("chef_type", "json_class", "data_bag")}
    return doc["raw_data"] if "raw_data" in doc else doc


def why_run(server_url: str, token: str, node_name: str, automatic: dict[str, Any] | None = None, *,
            secret: bytes | None = None, out: Callable[[str], None] | None = None,
            contents_under: tuple[str, ...] = (),
            node_facts: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    """What a converge of `node_name` would do, computed in-process (nothing is touched).

    Facts are this machine's, with hostname/fqdn = the node name (as in the cluster) and each
    top-level key of `node_facts` replacing this machine's (what the node itself will
    report), then deep-merged with `automatic`. Returns [{"resource", "action", "properties"}] in run order
    (templates carry their rendered "content"; so does every file resource whose path starts
    with one of `contents_under`, as text, or None when unknown). Raises RecipeError (an
    AgentError) when a recipe, a resource declaration, a notification target or a template
    is wrong.
    """
    facts = ohai.collect(server_url)
    facts.update(hostname=node_name, fqdn=node_name, domain=None)  # dotless: Ohai's nil
    facts.update(node_facts or {})
    run = Run(Api(server_url, token), node_name, why_run=True, secret=secret,
              facts=deep_merge(facts, automatic or {}), out=out or (lambda line: None))
    return plan(run, contents_under)


def plan(run: Run, contents_under: tuple[str, ...] = ()) -> list[dict[str, Any]]:
    """prepare + compile + converge of a why-run `Run`; why_run()'s answer (and the unit
    layer's, which keeps `run` to read its node afterwards)."""
    run.prepare()
    try:
        converger = run.compile()
        converger.run()
        return [{"resource": res.key, "action": action,
                 "properties": _describe(res, contents_under)}
                for res in converger.resources for action in res.action_list]
    except ResourceFailure as exc:
        raise RecipeError(f"{exc.resource}: {_message(exc)}", exc.resource) from None


def _describe(res: Resource, contents_under: tuple[str, ...]) -> dict[str, Any]:
    """res.describe(), plus the text a file resource under `contents_under` writes."""
    props = res.describe()
    content = getattr(res, "content", None)
    if ("content" not in props and contents_under and res.name.startswith(contents_under)
            and callable(content)):  # templates and files describe theirs already
        data = content()
        props["content"] = data.decode("utf-8", "replace") if isinstance(data, bytes) else data
    return props


def load_secret(path: str | Path | None) -> bytes | None:
    return None if path is None else Path(path).read_bytes()


def with_duplicate_names(recipes: list[str]) -> list[str]:
    """What chef-client saves as `automatic.recipes`: Chef::Node#expand! stores
    `expansion.recipes.with_duplicate_names` (lib/chef/node.rb): "foo::default" also as
    "foo", "foo" also as "foo::default", "foo::bar" alone (versioned_recipe_list.rb), so a
    search `recipes:foo` finds it either way; `expanded_run_list` keeps the qualified names."""
    out: list[str] = []
    for recipe in recipes:
        if recipe.endswith("::default"):
            out += [recipe.removesuffix("::default"), recipe]
        elif "::" in recipe:
            out.append(recipe)
        else:
            out += [recipe, f"{recipe}::default"]
    return out
