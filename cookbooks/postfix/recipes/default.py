# postfix::default: Postfix accepting mail for node["postfix"]["domain"], delivering to
# local mailboxes (/var/mail). The debconf answers are preseeded before the package is
# installed, so the install never asks; main.cf is then written from attributes.
pf = node["postfix"]
domain = pf["domain"]
main = dict(pf["main"])
main.setdefault("mydomain", domain)
main.setdefault("myhostname", f"{node['hostname']}.{domain}")
seed = "/var/cache/local/preseeding/postfix.seed"

# /var/cache/local is not on a fresh Debian host: recursive, or the run fails there.
directory("/var/cache/local/preseeding", owner="root", group="root", mode="0755",
          recursive=True)

template(seed, source="postfix.seed.j2", owner="root", group="root", mode="0600",
         variables={"mailname": main["myhostname"], "domain": domain},
         notifies=[("run", "execute[preseed postfix]", "immediately")])

execute("preseed postfix", command=f"debconf-set-selections {seed}", action="nothing")

package("postfix")

file("/etc/mailname", content=f"{domain}\n", owner="root", group="root", mode="0644",
     notifies=[("reload", "service[postfix]")])

template("/etc/postfix/main.cf", source="main.cf.j2", owner="root", group="root", mode="0644",
         variables={"main": main},
         notifies=[("run", "execute[postfix check]", "immediately"),
                   ("restart", "service[postfix]")])   # some settings (inet_*) need a restart

# A broken main.cf fails the run here, before postfix is reloaded with it.
execute("postfix check", command="postfix check", action="nothing")

template("/etc/aliases", source="aliases.j2", owner="root", group="root", mode="0644",
         variables={"aliases": pf["aliases"]},
         notifies=[("run", "execute[newaliases]", "immediately")])

execute("newaliases", command="newaliases", action="nothing")

service("postfix", action=["enable", "start"])
