"""The loader never crashes: any file content gives a Repo or a ValidationError, no traceback."""
from __future__ import annotations

import json
import tempfile
from pathlib import Path

import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from harness.errors import ValidationError
from harness.repo import load_repo

TARGETS = ["roles/r.json", "roles/r.yaml", "environments/e.yml", "nodes/n.json",
           "data_bags/b/i.yaml", "data_bags/b/j.json", "cookbooks/c/metadata.yaml",
           "cookbooks/c/attributes/default.json", "site-cookbooks/d/metadata.json",
           "roles/r.rb", "environments/_default.json"]

KEYS = st.sampled_from(["name", "description", "run_list", "env_run_lists", "default_attributes",
                        "override_attributes", "cookbook_versions", "chef_environment", "normal",
                        "json_class", "chef_type", "id", "version", "depends", "dependencies",
                        "r", "e", "n", "c", "i", "_default", "policy_name"])
SCALARS = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False),
                    st.text(max_size=12),
                    st.sampled_from(["recipe[c]", "role[r]", "role[r2]", "recipe[c::x@1.0]",
                                     "~> 1.2", "= 1.0.0", "1.0.0", "r", "e", "n", "i", "c",
                                     "../x", "a/b", "", "Chef::Role", "role[r]x"]))
VALUES = st.recursive(SCALARS, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(KEYS, inner, max_size=5)), max_leaves=20)
TRICKY = st.sampled_from([
    "!!set {a, b}", "a: &x [*x]", "&a [*a, *a]", "!!binary '!!'", "!!float nope", "!!int x",
    "!!python/object/apply:os.system ['true']", "? [a]\n: b", "{[1]: 2}", "a: .nan",
    "since: 2024-01-01", "[" * 300 + "]" * 300, "{" * 50, "a: !!timestamp 2001-12-14",
    "---\na: 1\n---\nb: 2\n", "\ufeff{}", "\t{}", "name: r\nname: r2\n", "%YAML 1.1\n---\n{}",
    "a: !!omap [x: 1]", "\x00\x01", '{"a": 1e999}', '{"a": ' + "9" * 5000 + "}",
    "a: " + "9" * 5000, '{"name": "r", "run_list": [1, [], {}]}',
    "x: " + "&a [" * 5 + "1" + "]" * 5 + "\ny: [*a, *a, *a]"])
CONTENT = st.one_of(st.binary(max_size=200), st.text(max_size=200), TRICKY,
                    VALUES.map(lambda v: json.dumps(v)),
                    VALUES.map(lambda v: yaml.safe_dump(v, allow_unicode=True)))


def _write(root: Path, rel: str, content: str | bytes) -> None:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8", errors="surrogatepass")


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(TARGETS), CONTENT), min_size=1, max_size=4))
def test_loader_never_crashes(files: list[tuple[str, str | bytes]]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        _write(root, "cookbooks/c/recipes/default.py", "log('x')\n")
        _write(root, "cookbooks/c/metadata.yaml", "name: c\nversion: 1.0.0\n")
        for rel, content in files:
            _write(root, rel, content)
        try:
            repo = load_repo(root)
        except ValidationError as err:
            assert err.problems
            for problem in err.problems:
                assert problem.path.startswith(tmp)
                assert problem.line is None or problem.line >= 1
                assert problem.message
        else:
            json.dumps([repo.roles, repo.environments, repo.nodes, repo.data_bags],
                       allow_nan=False)
            for cookbook in repo.cookbooks.values():
                json.dumps(cookbook.manifest(), allow_nan=False)
