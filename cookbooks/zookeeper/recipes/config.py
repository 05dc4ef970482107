# zookeeper::config: zoo.cfg + myid in our own configuration directory, selected through
# Debian's zookeeper-conf alternative (/etc/zookeeper/conf -> conf_dir).
#
# Members are the nodes with the cluster role in this node's environment, found by search.
# `roles:` (plural) is the expanded run list a converge saved, as in Chef; `role:` would
# name only roles written in a run list, and match a registered node before its first
# converge saved its ipaddress.
# A node is only found once a converge of it succeeded: the node is saved at the end of a
# successful run, as chef-client saves it (never at the start). Nodes of a new cluster
# converge together, so the first converge finds neither its peers nor itself: this node
# always counts itself (a lone member runs standalone), and the harness converges again
# until every node's search answer settles; the second converge sees the whole ensemble.
# The search is lazy: it runs when zoo.cfg converges, after package[zookeeperd] installed
# (tens of seconds into the run), not while recipes compile, so a peer whose converge
# succeeded in the meantime is counted. The lazy value is computed once per run and feeds
# both zoo.cfg and myid, so they always agree. myid is the 1-based position of the node name in
# the sorted member names, so every member computes the same numbering.
zk = node["zookeeper"]
conf_dir = zk["conf_dir"]
query = f"roles:{zk['cluster_role']} AND chef_environment:{node.chef_environment}"


def find_members():
    addresses = {peer["name"]: peer["ipaddress"] for peer in search("node", query)}
    addresses[node.name] = node["ipaddress"]
    return [{"id": i + 1, "name": name, "ip": addresses[name]}
            for i, name in enumerate(sorted(addresses))]


members = lazy(find_members)   # searched once, when zoo.cfg (its first user) converges
myid = lazy(lambda: next(m["id"] for m in members() if m["name"] == node.name))

directory(conf_dir, owner="root", group="root", mode="0755")

template(f"{conf_dir}/zoo.cfg", source="zoo.cfg.j2",
         owner="root", group="zookeeper", mode="0644",
         variables={"members": members},
         notifies=[("restart", "service[zookeeper]")])

file(f"{conf_dir}/myid", content=lazy(lambda: f"{myid()}\n"),
     owner="root", group="zookeeper", mode="0644",
     notifies=[("restart", "service[zookeeper]")])

# Command-line tools (zkCli) read this; the systemd unit sets the server's own options.
template(f"{conf_dir}/environment", source="environment.j2",
         owner="root", group="root", mode="0644")

cookbook_file(f"{conf_dir}/log4j.properties", source="log4j.properties",
              owner="root", group="root", mode="0644",
              notifies=[("restart", "service[zookeeper]")])

# /var/lib/zookeeper/myid is the package's link to /etc/zookeeper/conf/myid; keep it so.
link(f"{zk['data_dir']}/myid", to="/etc/zookeeper/conf/myid")

execute("zookeeper-conf alternative",
        command=f"update-alternatives --install /etc/zookeeper/conf zookeeper-conf {conf_dir} "
                f"{zk['alternative_priority']} && "
                f"update-alternatives --set zookeeper-conf {conf_dir}",
        not_if=f"update-alternatives --query zookeeper-conf | grep -qx 'Value: {conf_dir}'",
        notifies=[("restart", "service[zookeeper]")])
