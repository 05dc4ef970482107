# haproxy::default: a load balancer for the members listed in node["haproxy"]["members"].
include_recipe("haproxy::install")

members = [{"name": m["name"], "address": m["address"],
            "port": m.get("port", node["haproxy"]["member_port"])}
           for m in node["haproxy"]["members"]]

template("/etc/haproxy/haproxy.cfg", source="haproxy.cfg.j2",
         owner="root", group="root", mode="0644",
         variables={"members": members},
         notifies=[("run", "execute[haproxy -c]", "immediately"),
                   ("reload", "service[haproxy]")])
