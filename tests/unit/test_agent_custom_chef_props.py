"""Custom resource properties against Chef 19.4.14's source (chef/chef lib/chef/property.rb,
lib/chef/provider.rb): defaults per instance, `required` at converge, lazy values."""
from __future__ import annotations

from test_agent_run import do_run
from test_agent_support import FakeApi, unit_state


def run(tmp_path, recipe: str, resources: dict[str, str], **kwargs):
    files = {"recipes/default.py": recipe.replace("TMP", str(tmp_path))}
    files.update({f"resources/{n}.py": c for n, c in resources.items()})
    return do_run(FakeApi(cookbooks={"web": files}, recipes=["web::default"]), tmp_path,
                  **kwargs)


OPTS = '''
count = [0]
def _next():
    count[0] += 1
    return count[0]

properties = {"options": [], "env": {"A": ["1"]}, "serial": lazy(_next)}

def action_create(new_resource):
    new_resource.options.append("--managed")
    new_resource.env["A"].append("2")
    file(new_resource.name, content=" ".join(new_resource.options)
         + f" {new_resource.env} {new_resource.serial}\\n")
'''


def test_mutable_defaults_are_copied_for_each_resource(tmp_path):
    """property.rb: the default is frozen at definition (`visitor.call(default)` freezes
    every Hash/Array in it) and `get` returns `deep_dup(value)`, set on the resource when
    mutable, so each resource mutates its own copy; a lazy default is evaluated for each
    resource (`return value if value.is_a?(DelayedEvaluator)`, then instance_exec'd)."""
    report, _, _ = run(tmp_path, "web_opts('TMP/a')\nweb_opts('TMP/b')\n"
                       "web_opts('TMP/c', options=['-x'])\n", {"opts": OPTS})
    assert report["status"] == "success", report["failure"]
    assert (tmp_path / "a").read_text() == "--managed {'A': ['1', '2']} 1\n"
    assert (tmp_path / "b").read_text() == "--managed {'A': ['1', '2']} 2\n"
    assert (tmp_path / "c").read_text() == "-x --managed {'A': ['1', '2']} 3\n"


def test_builtin_resources_get_their_own_defaults_too(tmp_path):
    """The same property.rb code serves core resources (template `variables` defaults to
    {}): a recipe mutating one template's default variables does not reach the next."""
    from harness.agent.files import Template
    from harness.agent.resource import Context

    ctx = Context(cookbooks={}, run=None)  # type: ignore[arg-type]
    one, two = Template(ctx, "/a"), Template(ctx, "/b")
    one.props["variables"]["x"] = 1
    assert two.props["variables"] == {} and Template.properties["variables"] == {}


def test_a_before_notification_reads_inner_lazy_values(tmp_path):
    """runner.rb run_action: a resource with `before` notifications is first run in a forced
    why-run; for a custom resource that converges its action's resources in why-run, each
    reading its lazy properties (property.rb get: `exec_in_resource`) before deciding. A
    file whose lazy content is already on disk would not change: no `before` notification
    on the second run (ours compared the unresolved Lazy with the file and always fired)."""
    res = ("def action_create(new_resource):\n"
           "    file(new_resource.name, content=lazy(lambda: 'hello\\n'))\n"
           "    log('inner', action='nothing', message=lazy(lambda: 1 / 0))\n")
    recipe = ("log('pre', action='nothing')\n"
              "web_f('TMP/f', notifies=[('write', 'log[pre]', 'before')])\n")
    first, _, _ = run(tmp_path, recipe, {"f": res})
    assert first["status"] == "success", first["failure"]
    assert ("log[pre]", "write") in [(e["resource"], e["action"]) for e in first["resources"]]
    again, lines, _ = run(tmp_path, recipe, {"f": res}, runner=unit_state("active", "enabled"))
    assert again["status"] == "success", again["failure"]
    assert ("log[pre]", "write") not in [(e["resource"], e["action"])
                                         for e in again["resources"]], lines


SITE = '''
properties = {"root": None}
required = ["root"]
def action_create(new_resource):
    directory(new_resource.root)
'''


def test_required_is_checked_when_the_action_runs(tmp_path):
    """provider.rb run_action: `validate_required_properties!` (each required property's
    `get`, property.rb: "is a required property" when nil) runs in the provider, which
    resource.rb run_action reaches only past `should_skip?`: a custom resource with action
    :nothing, or one a guard skips, may leave a required property unset. Ours refused it
    at declaration. When it does run, the failure names the resource and the recipe line."""
    report, _, _ = run(tmp_path, "web_site('x', action='nothing')\n"
                       "web_site('y', only_if=lambda: False)\n"
                       "web_site('z', root='TMP/z')\n", {"site": SITE})
    assert report["status"] == "success", report["failure"]
    assert (tmp_path / "z").is_dir()
    report, _, _ = run(tmp_path, "log('first')\n\nweb_site('w')\n", {"site": SITE})
    assert report["status"] == "failure"
    assert report["failure"]["resource"] == "web_site[w]"
    assert "required property root not set" in report["failure"]["message"]
    assert "web/recipes/default.py:3" in report["failure"]["message"]
    assert ("log[first]", "write") in [(e["resource"], e["action"])
                                       for e in report["resources"]]


def test_required_fails_a_why_run_too(tmp_path):
    """Why-run also runs the provider (provider.rb run_action validates before
    `whyrun_mode?` is looked at), so a missing required property fails it; ours does not
    evaluate guards in why-run, so it checks every action but :nothing."""
    report, _, _ = run(tmp_path, "web_site('x', action='nothing')\nweb_site('w')\n",
                       {"site": SITE}, why_run=True)
    assert report["status"] == "failure"
    assert "required property root not set" in report["failure"]["message"]


def test_a_lazy_nested_in_a_property_is_evaluated_only_in_template_variables(tmp_path):
    """Chef evaluates DelayedEvaluators inside Hashes/Arrays only for a template's
    variables (provider/template/content.rb file_for_provider's visitor); property.rb get
    evaluates a property only when the whole value is lazy (stored_value_to_output:
    `value.is_a?(DelayedEvaluator)`). An execute environment holding a lazy reaches
    shell_out as a Proc (TypeError in Chef); ours resolved it and ran: now refused at
    declaration, naming the property."""
    report, _, _ = run(tmp_path, "execute('x', command='/bin/true', "
                       "environment={'PEERS': lazy(lambda: 'a b')})\n", {})
    assert report["status"] == "failure"
    assert report["failure"]["resource"] == "execute[x]"
    assert "property environment: lazy() inside a dict or list" in report["failure"]["message"]
    report, _, _ = run(tmp_path, "execute('x', command='/bin/true', "
                       "environment=lazy(lambda: {'PEERS': lazy(lambda: 'a b')}))\n", {})
    assert report["status"] == "failure"
    assert "holds lazy values inside" in report["failure"]["message"]
    report, _, runner = run(tmp_path, "execute('x', command='/bin/true', "
                            "environment=lazy(lambda: {'PEERS': 'a b'}))\n", {})
    assert report["status"] == "success", report["failure"]
    assert runner.kwargs[-1]["env"]["PEERS"] == "a b"


def test_a_custom_resource_passes_nested_lazy_values_on(tmp_path):
    """A custom resource's property holding a lazy inside a dict is not evaluated by
    property.rb get: the action receives the DelayedEvaluator and whatever it hands it to
    decides, e.g. a template's variables (evaluated) or a whole property (lazy there)."""
    res = ('properties = {"peers": {}}\n'
           "def action_create(new_resource):\n"
           "    assert not isinstance(new_resource.peers['a'], str)\n"
           "    template(new_resource.name, source='p.j2', variables={'p': new_resource.peers})\n"
           "    file(new_resource.name + '.a', content=new_resource.peers['a'])\n")
    files = {"recipes/default.py":
             f"web_p({str(tmp_path / 'p')!r}, peers={{'a': lazy(lambda: 'x\\n')}})\n",
             "resources/p.py": res, "templates/p.j2": "{{ p['a'] }}"}
    report, _, _ = do_run(FakeApi(cookbooks={"web": files}, recipes=["web::default"]),
                          tmp_path)
    assert report["status"] == "success", report["failure"]
    assert (tmp_path / "p").read_text() == "x\n"
    assert (tmp_path / "p.a").read_text() == "x\n"
