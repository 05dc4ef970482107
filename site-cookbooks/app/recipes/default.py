# app::default: our HTTP service. Code from files/app.py, configuration (with the database
# password from an encrypted data bag item) readable only by the service user, run by a
# hardened systemd unit. Any change restarts the service at the end of the run.
#
# Rollout flag (Etsy's allowlist pattern): nodes whose fqdn matches the data bag item
# allowlist/new_greeting get the new greeting in their configuration; the others keep the old
# answer. Widen it with `harness allowlist add new_greeting PATTERN`.
app = node["app"]
svc_user, svc_group = app["user"], app["group"]
install_dir, config_dir = app["install_dir"], app["config_dir"]
secrets = data_bag_item(app["secrets"]["bag"], app["secrets"]["item"])
greeting = app["greeting"] if node.in_allowlist("new_greeting") else None

package("python3")

group(svc_group, system=True)
user(svc_user, gid=svc_group, system=True, home="/nonexistent", manage_home=False,
     shell="/usr/sbin/nologin", comment="app service")

directory(install_dir, owner="root", group="root", mode="0755")
cookbook_file(f"{install_dir}/app.py", source="app.py", owner="root", group="root",
              mode="0755", notifies=[("restart", "service[app]")])

directory(config_dir, owner="root", group=svc_group, mode="0750")
# sensitive: the file holds the database password, so a content change is logged without
# its diff.
template(f"{config_dir}/app.conf", source="app.conf.j2",
         owner=svc_user, group=svc_group, mode="0600", sensitive=True,
         variables={"db_password": secrets["db_password"], "greeting": greeting},
         notifies=[("restart", "service[app]")])

# systemd keeps a loaded unit until it re-reads its files, and `service` never makes it do so
# (as Chef's): a changed unit file notifies an explicit daemon-reload before the restart.
template("/etc/systemd/system/app.service", source="app.service.j2",
         owner="root", group="root", mode="0644",
         notifies=[("run", "execute[systemctl daemon-reload (app)]", "immediately"),
                   ("restart", "service[app]")])

execute("systemctl daemon-reload (app)", command="systemctl daemon-reload", action="nothing")

service("app", action=["enable", "start"])
