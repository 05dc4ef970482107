"""Custom resources against Chef 19.4.14's source: where an action's resources come from.

Chef (chef/chef lib/chef/dsl/declare_resource.rb build_resource: `cookbook_name:
cookbook_name, recipe_name: recipe_name`; lib/chef/provider.rb: `def cookbook_name;
new_resource.cookbook_name; end`, recipe_name the same): a resource declared inside a custom
resource's action belongs to the cookbook and recipe of the recipe that *declared the custom
resource*, not to the cookbook defining it. A template or cookbook_file in an action is then
looked up there (provider/template/content.rb: `TemplateFinder.new(run_context,
new_resource.cookbook_name, node)`; template_finder.rb: `options[:cookbook] || @cookbook_name`),
the well-known library cookbook gotcha: the action must say `cookbook 'web'`.
"""
from __future__ import annotations

from test_agent_run import do_run
from test_agent_support import FakeApi

SITE = '''
properties = {"port": 80, "from_web": False}

def action_create(new_resource):
    template(new_resource.name, source="site.conf.j2", variables={"port": new_resource.port},
             cookbook="web" if new_resource.from_web else None)

def action_copy(new_resource):
    cookbook_file(new_resource.name, source="payload.txt")

def action_where(new_resource):
    file(new_resource.name, content=f"{cookbook_name}::{recipe_name} "
         f"{new_resource.cookbook_name}::{new_resource.recipe_name}\\n")
'''
WEB = {"resources/site.py": SITE, "templates/site.conf.j2": "port={{ port }}\n",
       "files/payload.txt": "from web\n", "recipes/default.py": ""}


def run(tmp_path, recipe: str, app: dict[str, str] | None = None):
    api = FakeApi(cookbooks={"web": WEB, "app": {"recipes/default.py": recipe, **(app or {})}},
                  recipes=["app::default"])
    return do_run(api, tmp_path)


def test_a_template_in_an_action_is_looked_up_in_the_callers_cookbook(tmp_path):
    """content.rb/template_finder.rb: new_resource.cookbook_name is the caller's (app), so
    app without templates/site.conf.j2 fails with Chef's "Cookbook 'app' ... does not
    contain a file" even though web, which defines web_site, has it."""
    target = tmp_path / "site.conf"
    report, _, _ = run(tmp_path, f"web_site({str(target)!r}, port=8080)\n")
    assert report["status"] == "failure"
    assert report["failure"]["resource"] == f"web_site[{target}]"
    assert "Cookbook 'app'" in report["failure"]["message"]
    assert "does not contain a file" in report["failure"]["message"]
    assert not target.exists()
    # the caller's own template is the one rendered
    report, _, _ = run(tmp_path, f"web_site({str(target)!r}, port=8080)\n",
                       {"templates/site.conf.j2": "app port={{ port }}\n"})
    assert report["status"] == "success", report["failure"]
    assert target.read_text() == "app port=8080\n"


def test_the_cookbook_property_names_the_defining_cookbook(tmp_path):
    """template_finder.rb `options[:cookbook] || @cookbook_name`: `cookbook="web"` is Chef's
    fix, and a recipe may pass `cookbook=` to template/cookbook_file too."""
    target = tmp_path / "site.conf"
    report, _, _ = run(tmp_path, f"web_site({str(target)!r}, port=81, from_web=True)\n"
                       f"template({str(tmp_path / 'direct')!r}, source='site.conf.j2', "
                       "cookbook='web', variables={'port': 82})\n")
    assert report["status"] == "success", report["failure"]
    assert target.read_text() == "port=81\n"
    assert (tmp_path / "direct").read_text() == "port=82\n"


def test_a_cookbook_file_in_an_action_comes_from_the_callers_cookbook(tmp_path):
    """cookbook_file/content.rb: `cookbook = run_context.cookbook_collection[
    resource_cookbook]`, resource_cookbook = `new_resource.cookbook || new_resource.cookbook_name`."""
    target = tmp_path / "payload"
    report, _, _ = run(tmp_path, f"web_site({str(target)!r}, action='copy')\n")
    assert report["status"] == "failure" and "Cookbook 'app'" in report["failure"]["message"]
    report, _, _ = run(tmp_path, f"web_site({str(target)!r}, action='copy')\n",
                       {"files/payload.txt": "from app\n"})
    assert report["status"] == "success", report["failure"]
    assert target.read_text() == "from app\n"


def test_cookbook_name_and_recipe_name_in_an_action_are_the_callers(tmp_path):
    """provider.rb cookbook_name/recipe_name delegate to new_resource: inside the action,
    `cookbook_name` is app (the declaring recipe's cookbook), recipe_name its recipe; a
    custom resource declared by another one inherits them (its cookbook_name is the outer
    action's)."""
    outer = ("def action_create(new_resource):\n"
             "    web_site(new_resource.name, action='where')\n")
    target, nested = tmp_path / "where", tmp_path / "nested"
    api = FakeApi(cookbooks={"web": {**WEB, "resources/outer.py": outer},
                             "app": {"recipes/default.py": "include_recipe('app::inner')\n",
                                     "recipes/inner.py":
                                         f"web_site({str(target)!r}, action='where')\n"
                                         f"web_outer({str(nested)!r})\n"}},
                  recipes=["app::default"])
    report, _, _ = do_run(api, tmp_path)
    assert report["status"] == "success", report["failure"]
    assert target.read_text() == "app::inner app::inner\n"
    assert nested.read_text() == "app::inner app::inner\n"


def test_include_recipe_colon_colon_is_the_current_cookbook(tmp_path):
    """recipe.rb parse_recipe_name: "::x" is [current_cookbook, "x"]; the DSL passes
    `current_cookbook: cookbook_name` (dsl/include_recipe.rb), which in an action is the
    custom resource's cookbook_name (the caller's); include_recipe takes several names."""
    inc = ("def action_create(new_resource):\n"
           "    include_recipe('::helpers')\n")
    api = FakeApi(cookbooks={
        "web": {"resources/inc.py": inc, "recipes/helpers.py": "log('web helpers')\n",
                "recipes/default.py": ""},
        "app": {"recipes/default.py": "include_recipe('::a', ['::b'])\nweb_inc('x')\n",
                "recipes/a.py": "log('a')\n", "recipes/b.py": "log('b')\n",
                "recipes/helpers.py": "log('app helpers')\n"}},
        recipes=["app::default"])
    report, _, _ = do_run(api, tmp_path)
    assert report["status"] == "success", report["failure"]
    keys = [e["resource"] for e in report["resources"]]
    assert keys == ["log[a]", "log[b]", "web_inc[x]", "log[app helpers]"]
