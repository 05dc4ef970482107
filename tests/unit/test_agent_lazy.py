"""lazy(fn) in recipes: resolved when the resource converges (not while recipes compile),
memoized once per run, callable, nested in dicts/lists, validated after resolution, and its
failures name the resource, the lazy value's line and the declaration line."""
from __future__ import annotations

import pytest
from test_agent_support import FakeApi, FakeRunner

from harness.agent.cookbooks import FileCache
from harness.agent.errors import AgentError
from harness.agent.lazy import Lazy, LazyError, contains_lazy, resolve
from harness.agent.node import Attrs
from harness.agent.runner import Run

PEERS = [{"name": "web-2", "automatic": {"ipaddress": "10.0.0.2"}}]


def make_api(recipe: str, **templates: str) -> FakeApi:
    """Node web-1 runs `app::default` = recipe; its one peer is PEERS."""
    files = {"recipes/default.py": recipe,
             **{f"templates/{name}": text for name, text in templates.items()}}
    return FakeApi(cookbooks={"app": files}, recipes=["app::default"],
                   nodes=[dict(p) for p in PEERS])


def run_recipe(tmp_path, recipe: str | FakeApi, *, why_run=False, runner=None,
               **templates: str) -> tuple[dict, Run, FakeApi]:
    """One run of `recipe` (or of a prepared FakeApi); returns the report, Run and Api."""
    api = recipe if isinstance(recipe, FakeApi) else make_api(recipe, **templates)
    run = Run(api, "web-1", why_run=why_run, facts={"ipaddress": "10.0.0.1"},
              cache=FileCache(tmp_path / "cache"), run=runner or FakeRunner(),
              out=lambda line: None)
    return run.execute(), run, api


def joining_runner(api: FakeApi, seen: list[int]):
    """`peer-joins` adds web-3 to the server (as a peer saving its node meanwhile) and
    records how many searches had run by then."""
    def run(cmd, **kwargs):
        if cmd == "peer-joins":
            seen.append(len(api.searches))
            api.nodes.append({"name": "web-3", "automatic": {"ipaddress": "10.0.0.3"}})
        return FakeRunner()(cmd, **kwargs)
    return run


SEARCHES = (
    "names = lambda: ','.join(sorted(n['name'] for n in search('node', 'role:web')))\n"
    "early = names()\n"
    "file(OUT + '/early', content=early)\n"
    "execute('peer-joins')\n"
    "file(OUT + '/late', content=lazy(names))\n")


def test_lazy_search_runs_at_converge_time_and_sees_the_later_answer(tmp_path):
    api = make_api(f"OUT = {str(tmp_path)!r}\n" + SEARCHES)
    seen: list[int] = []
    report, _, _ = run_recipe(tmp_path, api, runner=joining_runner(api, seen))
    assert report["status"] == "success", report["failure"]
    assert seen == [1], "only the compile-time search had run when the peer joined"
    assert (tmp_path / "early").read_text() == "web-2"
    assert (tmp_path / "late").read_text() == "web-2,web-3"
    # the report keeps the latest answer, so the harness's settle sees nothing stale
    assert report["searches"] == [{"index": "node", "query": "role:web",
                                   "names": ["web-2", "web-3"]}]


def test_lazy_is_memoized_and_callable_so_resources_agree(tmp_path):
    recipe = (f"OUT = {str(tmp_path)!r}\n"
              "calls = []\n"
              "def members():\n"
              "    calls.append(1)\n"
              "    return [n['name'] for n in search('node', 'role:web')]\n"
              "ensemble = lazy(members)\n"
              "file(OUT + '/count', content=lazy(lambda: str(len(ensemble()))))\n"
              "execute('peer-joins')\n"
              "file(OUT + '/names', content=lazy(lambda: ','.join(ensemble())))\n"
              "file(OUT + '/calls', content=lazy(lambda: str(len(calls))))\n")
    api = make_api(recipe)
    report, _, _ = run_recipe(tmp_path, api, runner=joining_runner(api, []))
    assert report["status"] == "success", report["failure"]
    assert (tmp_path / "count").read_text() == "1"
    assert (tmp_path / "names").read_text() == "web-2", "the first answer, not a new search"
    assert (tmp_path / "calls").read_text() == "1"
    assert len(api.searches) == 1


def test_nested_lazy_values_render_and_why_run_describes_them_resolved(tmp_path):
    conf = str(tmp_path / "conf")
    recipe = ("peers = lazy(lambda: search('node', 'role:web'))\n"
              f"template({conf!r}, source='conf.j2', mode=lazy(lambda: '0600'),\n"
              "         variables={'peers': peers, 'tags': [lazy(lambda: 'a'), 'b']})\n"
              f"file({str(tmp_path / 'n')!r}, content=lazy(lambda: str(len(peers()))))\n")
    template = ("{% for p in peers %}{{ p['ipaddress'] }} {% endfor %}"
                "{{ tags | join(',') }}\n")
    report, run, api = run_recipe(tmp_path, recipe, why_run=True, **{"conf.j2": template})
    assert report["status"] == "success", report["failure"]
    assert not (tmp_path / "conf").exists() and api.puts == []
    conf_res, count = run.compiler.resources
    assert conf_res.describe()["content"] == "10.0.0.2 a,b\n"
    assert conf_res.describe()["mode"] == "0600" and conf_res.mode == 0o600
    assert count.describe()["content"] == "1"
    assert not contains_lazy(conf_res.props)
    report, _, _ = run_recipe(tmp_path, recipe, **{"conf.j2": template})
    assert (tmp_path / "conf").read_text() == "10.0.0.2 a,b\n"
    assert (tmp_path / "conf").stat().st_mode & 0o777 == 0o600


def test_error_inside_lazy_names_resource_lazy_line_and_declaration(tmp_path):
    recipe = (f"OUT = {str(tmp_path)!r}\n"
              "def port():\n"
              "    return node['app']['port']\n"
              "file(OUT + '/ok', content='x')\n"
              "file(OUT + '/port', content=lazy(port))\n"
              "file(OUT + '/never', content='x')\n")
    report, _, _ = run_recipe(tmp_path, recipe)
    failure = report["failure"]
    assert failure["resource"] == f"file[{tmp_path}/port]"
    assert failure["message"].startswith(
        "property content: lazy value (app/recipes/default.py:5) failed at "
        "app/recipes/default.py:3: attribute node['app'] is not set")
    assert failure["message"].endswith("(declared at app/recipes/default.py:5)")
    assert (tmp_path / "ok").exists() and not (tmp_path / "never").exists()


def test_error_inside_lazy_in_why_run_and_a_plain_exception(tmp_path):
    recipe = "boom = lazy(lambda: 1 / 0)\n\nlog('x', message=boom)\n"
    report, _, _ = run_recipe(tmp_path, recipe, why_run=True)
    assert report["failure"] == {
        "resource": "log[x]",
        "message": "property message: lazy value (app/recipes/default.py:1) failed: "
                   "ZeroDivisionError: division by zero (declared at app/recipes/default.py:3)"}


def test_a_failed_lazy_is_not_run_again(tmp_path):
    recipe = ("calls = []\n"
              "def fail():\n"
              "    calls.append(1)\n"
              "    raise RuntimeError(f'call {len(calls)}')\n"
              "bad = lazy(fail)\n"
              "log('a', message=bad, ignore_failure=True)\n"
              "log('b', message=bad)\n")
    report, _, _ = run_recipe(tmp_path, recipe)
    assert report["failure"]["resource"] == "log[b]"
    assert "RuntimeError: call 1" in report["failure"]["message"]


@pytest.mark.parametrize("declaration, message", [
    ("file('/x', mode=lazy(lambda: 'rw-'))",
     "bad value from lazy mode: mode 'rw-' is not an octal string like '0644'"),
    ("template('/x', variables=lazy(lambda: ['a']))",
     "bad value from lazy variables: variables must be a dict, got list"),
    ("link('/x', to=lazy(lambda: ''))", "bad value from lazy to: link needs to="),
])
def test_a_bad_resolved_value_fails_that_resource_cleanly(tmp_path, declaration, message):
    report, _, _ = run_recipe(tmp_path, f"log('first')\n{declaration}\n")
    kind = declaration.split("(")[0]
    assert report["failure"] == {"resource": f"{kind}[/x]", "message":
                                 f"{message} (declared at app/recipes/default.py:2)"}
    assert [e["resource"] for e in report["resources"]] == ["log[first]", f"{kind}[/x]"]


def test_declaration_time_validation_still_applies_to_plain_values(tmp_path):
    report, _, _ = run_recipe(tmp_path, "file('/x', mode='bad', content=lazy(lambda: 'x'))\n")
    assert report["failure"]["resource"] == "file[/x]"
    assert report["resources"] == [], "it failed while compiling"
    assert "mode 'bad' is not an octal string" in report["failure"]["message"]


@pytest.mark.parametrize("declaration, message", [
    ("file(lazy(lambda: '/x'))",
     "recipe app::default (app/recipes/default.py:1): file() name cannot be lazy"),
    ("execute('x', only_if=lazy(lambda: True))", "only_if cannot be lazy"),
    ("log('x', notifies=[('write', lazy(lambda: 'log[y]'))])", "notifies cannot be lazy"),
    ("log('x', action=lazy(lambda: 'write'))", "action cannot be lazy"),
    ("log('x', message=lazy('text'))", "TypeError: lazy() takes a function"),
])
def test_names_and_options_cannot_be_lazy(tmp_path, declaration, message):
    report, _, _ = run_recipe(tmp_path, declaration + "\n")
    assert report["status"] == "failure" and report["resources"] == []
    assert message in report["failure"]["message"]
    assert "app/recipes/default.py:1" in report["failure"]["message"]


def test_guards_see_resolved_values_and_unrun_resources_never_resolve(tmp_path):
    (tmp_path / "stamp").write_text("")
    recipe = (f"execute('migrate', cwd=lazy(lambda: {str(tmp_path)!r}), creates='stamp')\n"
              "execute('never', action='nothing', command=lazy(lambda: 1 / 0))\n")
    runner = FakeRunner()
    report, _, _ = run_recipe(tmp_path, recipe, runner=runner)
    assert report["status"] == "success", report["failure"]
    # creates is checked in the action, after the guards (up to date, not skipped)
    assert [(e["skipped"], e["changed"]) for e in report["resources"]] == [(False, False),
                                                                          (True, False)]
    assert runner.calls == []


# -- the Lazy value itself --------------------------------------------------------------------

def test_resolve_walks_plain_containers_only():
    calls = []
    value = Lazy(lambda: calls.append(1) or {"inner": Lazy(lambda: 2)}, "cb/recipes/x.py:1")
    attrs = Attrs({"a": 1})
    data = {"v": value, "l": [value, (value, attrs)], "same": attrs}
    out = resolve(data)
    assert out == {"v": {"inner": 2}, "l": [{"inner": 2}, ({"inner": 2}, attrs)],
                   "same": attrs}
    assert out["same"] is attrs and calls == [1]
    plain = {"a": [1, 2]}
    assert resolve(plain) is plain, "nothing lazy: nothing copied"
    assert repr(value) == "<lazy from cb/recipes/x.py:1>" and value.resolved


def test_a_lazy_that_needs_itself_is_an_error():
    loop: list[Lazy] = []
    loop.append(Lazy(lambda: loop[0](), "cb/recipes/x.py:4"))
    with pytest.raises(LazyError, match=r"depends on itself") as failure:
        loop[0]()
    assert isinstance(failure.value, AgentError)
