"""Custom resources: a cookbook's resources/NAME.py, run through a whole agent run.

Chef's custom resources (docs.chef.io "Custom Resources"; chef/chef lib/chef/resource/
lwrp_base.rb names the type COOKBOOK_FILE; lib/chef/provider.rb compile_and_converge_action
compiles an action's resources into a sub-collection and converges it at once; the custom
resource is updated when one of them was; the first action declared is the default;
`converge_by` marks it updated). Notifications from inside reach outer resources, delayed ones
at the end of the run (Runner#run_action queues on the receiving resource's run_context).
"""
from __future__ import annotations

from test_agent_run import do_run
from test_agent_support import FakeApi, FakeRunner, unit_state

SITE = '''
properties = {"port": 80, "root": None, "greeting": "hello"}
required = ["root"]
name_property = "site_name"

def action_create(new_resource):
    directory(new_resource.root)
    file(f"{new_resource.root}/{new_resource.site_name}.conf",
         content=f"port={new_resource.port}\\n{new_resource.greeting}\\n",
         notifies=[("restart", "service[web]")])

def action_remove(new_resource):
    file(f"{new_resource.root}/{new_resource.site_name}.conf", action="delete")

def action_stamp(new_resource):
    converge_by(f"stamp {new_resource.name}",
                lambda: open(f"{new_resource.root}/stamp", "w").write("x"))
'''


def api_with(tmp_path, recipe: str, resources: dict[str, str] | None = None) -> FakeApi:
    files = {"recipes/default.py": recipe}
    files.update({f"resources/{name}.py": code for name, code in (resources or {}).items()})
    return FakeApi(cookbooks={"web": files}, recipes=["web::default"])


def test_custom_resource_converges_its_resources_and_notifies_outward(tmp_path):
    root = tmp_path / "sites"
    recipe = (f"web_site('blog', root={str(root)!r}, port=8080)\n"
              "service('web', action='nothing')\n"
              f"log('after')\n")
    report, lines, runner = do_run(api_with(tmp_path, recipe, {"site": SITE}), tmp_path)
    assert report["status"] == "success", report["failure"]
    assert (root / "blog.conf").read_text() == "port=8080\nhello\n"
    keys = [(e["resource"], e["action"]) for e in report["resources"]]
    assert keys == [("web_site[blog]", "create"), (f"directory[{root}]", "create"),
                    (f"file[{root}/blog.conf]", "create"), ("service[web]", "nothing"),
                    ("log[after]", "write"), ("service[web]", "restart")]
    assert "web_site[blog]" in report["changed"]
    assert runner.ran("systemctl", "--system", "restart", "web")
    again, _, runner = do_run(api_with(tmp_path, recipe, {"site": SITE}), tmp_path)
    assert again["changed"] == [] and not runner.ran("systemctl", "--system", "restart")


def test_other_actions_converge_by_and_default_action(tmp_path):
    root = tmp_path / "sites"
    root.mkdir()
    (root / "old.conf").write_text("x")
    recipe = (f"web_site('old', root={str(root)!r}, action=['remove', 'stamp'])\n"
              f"web_site('old2', root={str(root)!r}, action='remove')\n")
    report, lines, _ = do_run(api_with(tmp_path, recipe, {"site": SITE}), tmp_path)
    assert report["status"] == "success", report["failure"]
    assert not (root / "old.conf").exists() and (root / "stamp").read_text() == "x"
    changed = {(e["resource"], e["action"]): e["changed"] for e in report["resources"]}
    assert changed[("web_site[old]", "remove")] and changed[("web_site[old]", "stamp")]
    assert changed[("web_site[old2]", "remove")] is False
    assert "    - stamp old" in lines


def test_why_run_lists_the_custom_resource_only(tmp_path):
    root = tmp_path / "sites"
    recipe = f"web_site('blog', root={str(root)!r})\n"
    report, _, _ = do_run(api_with(tmp_path, recipe, {"site": SITE}), tmp_path, why_run=True)
    assert [e["resource"] for e in report["resources"]] == ["web_site[blog]"]
    assert not root.exists()


def test_declaration_errors_name_the_recipe_line(tmp_path):
    report, _, _ = do_run(api_with(tmp_path, "\nweb_site('blog')\n", {"site": SITE}), tmp_path)
    assert report["failure"]["resource"] == "web_site[blog]"
    assert "required property root not set" in report["failure"]["message"]
    assert "web/recipes/default.py:2" in report["failure"]["message"]
    report, _, _ = do_run(api_with(tmp_path, "web_site('b', root='/x', colour=1)\n",
                                   {"site": SITE}), tmp_path)
    assert "unknown property colour" in report["failure"]["message"]


def test_errors_inside_an_action_name_the_resource_file(tmp_path):
    broken = "def action_create(new_resource):\n    file('/x', content=new_resource.nope)\n"
    report, _, _ = do_run(api_with(tmp_path, "web_thing('a')\n", {"thing": broken}), tmp_path)
    assert report["failure"]["resource"] == "web_thing[a]"
    assert "web/resources/thing.py:2" in report["failure"]["message"]
    assert "has no property 'nope'" in report["failure"]["message"]


def test_inner_failure_names_both_resources(tmp_path):
    inner = ("def action_create(new_resource):\n"
             "    execute('boom', command='false')\n")
    runner = FakeRunner().when("false", rc=1, err="it broke")
    report, _, _ = do_run(api_with(tmp_path, "web_thing('a')\n", {"thing": inner}), tmp_path,
                          runner=runner)
    assert report["failure"]["resource"] == "web_thing[a]"
    assert "execute[boom]: command exited 1" in report["failure"]["message"]


def test_bad_resource_files_fail_the_compile_clearly(tmp_path):
    cases = {"properties = {}\n": "defines no action_NAME",
             "def action_go(r):\n    pass\ndefault_action = 'run'\n": "default_action 'run'",
             "provides = 'file'\ndef action_go(r):\n    pass\n": "file is already defined",
             "def action_go(r):\n    pass\n1/0\n": "thing.py:3: ZeroDivisionError"}
    for code, message in cases.items():
        report, _, _ = do_run(api_with(tmp_path, "log('x')\n", {"thing": code}), tmp_path)
        assert report["status"] == "failure" and message in report["failure"]["message"], code


def test_before_notification_on_a_custom_resource(tmp_path):
    """would_change of a custom resource = would one of its resources change."""
    root = tmp_path / "sites"
    recipe = ("service('web', action='nothing')\n"
              f"web_site('blog', root={str(root)!r}, "
              "notifies=[('stop', 'service[web]', 'before')])\n")
    runner = unit_state("active", "enabled")
    report, _, runner = do_run(api_with(tmp_path, recipe, {"site": SITE}), tmp_path,
                               runner=runner)
    assert report["status"] == "success", report["failure"]
    keys = [(e["resource"], e["action"]) for e in report["resources"]]
    assert keys[:3] == [("service[web]", "nothing"), ("service[web]", "stop"),
                        ("web_site[blog]", "create")]
    report, _, runner = do_run(api_with(tmp_path, recipe, {"site": SITE}), tmp_path,
                               runner=unit_state("active", "enabled"))
    assert not runner.ran("systemctl", "--system", "stop"), "nothing would change: no before notification"


def test_custom_resources_compose_each_other(tmp_path):
    """A custom resource's action may declare another custom resource, whichever file
    (loaded in name order) defines it."""
    root = tmp_path / "sites"
    outer = ("properties = {'root': None}\n"
             "def action_create(new_resource):\n"
             "    web_site(new_resource.name, root=new_resource.root, port=9000)\n")
    recipe = f"web_app('shop', root={str(root)!r})\nservice('web', action='nothing')\n"
    report, _, _ = do_run(api_with(tmp_path, recipe, {"app": outer, "site": SITE}), tmp_path)
    assert report["status"] == "success", report["failure"]
    assert (root / "shop.conf").read_text() == "port=9000\nhello\n"
    assert [e["resource"] for e in report["resources"]][:3] == [
        "web_app[shop]", "web_site[shop]", f"directory[{root}]"]


def test_why_run_lists_every_new_resource_and_runs_nothing(tmp_path):
    """The unit-test layer (why-run) accepts the new resources and touches nothing; their
    describe() output is plain JSON (what harness.agent.runner.why_run returns)."""
    import json

    from harness.agent.recipe import Compiler
    from harness.agent.resource import Context

    recipe = ("cron_d('job', command='/bin/true')\n"
              "sysctl('vm.swappiness', value=10)\n"
              "systemd_unit('x.service', content={'Service': {'ExecStart': '/bin/true'}},"
              " action=['create', 'start'])\n"
              "apt_update('cache')\n"
              "apt_repository('r', uri='http://deb.debian.org/debian', distribution='bookworm')\n"
              "bash('b', code='exit 1')\n"
              "remote_file('/tmp/never', source='http://127.0.0.1:9/x', retries=2)\n")
    report, lines, runner = do_run(api_with(tmp_path, recipe), tmp_path, why_run=True)
    assert report["status"] == "success", report["failure"]
    assert len(report["resources"]) == 8 and runner.calls == []
    assert all("(would run)" in line for line in lines if line.startswith("  * "))
    ctx = Context(cookbooks={}, run=FakeRunner())
    compiler = Compiler(ctx, {})
    exec(recipe, compiler.globals_for("web", "default"))
    described = {res.key: res.describe() for res in compiler.resources}
    json.dumps(described)
    assert described["remote_file[/tmp/never]"]["retries"] == 2
    assert described["bash[b]"]["command"] == '"bash"'
