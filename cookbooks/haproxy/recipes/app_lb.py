# haproxy::app_lb: a load balancer for every node with the application role in this node's
# environment (like the community cookbook's app_lb). Until the application nodes ran once,
# search finds none: the backend is empty (503) and the next converge fills it in.
# `roles:` is the expanded run list a converge saved (Chef's `role:` is only the run list).
include_recipe("haproxy::install")

lb = node["haproxy"]
query = f"roles:{lb['app_server_role']} AND chef_environment:{node.chef_environment}"
members = [{"name": peer["name"], "address": peer["ipaddress"], "port": lb["member_port"]}
           for peer in search("node", query)]

template("/etc/haproxy/haproxy.cfg", source="haproxy.cfg.j2",
         owner="root", group="root", mode="0644",
         variables={"members": members},
         notifies=[("run", "execute[haproxy -c]", "immediately"),
                   ("reload", "service[haproxy]")])
