# zookeeper::service: a native systemd unit. It replaces the unit systemd generates from the
# package's LSB init script (same name; a native unit wins), so that systemd supervises the
# JVM itself, the heap is set, logs reach the journal, and no JMX agent opens a random port.
#
# The loaded unit is the generated one until systemd re-reads its unit files, and systemd
# does not flag that as NeedDaemonReload (the generated unit's own file did not change), so
# the unit file notifies an explicit daemon-reload, like Chef's systemd_unit resource does.
# The JVM, per platform (attributes: jdk_by_platform_version), as Chef cookbooks branch on
# node["platform_version"]; Debian names JDK directories by its architecture names.
release = str(node["platform_version"]).split(".")[0]
jdks = node["zookeeper"]["java"]["jdk_by_platform_version"]
if release not in jdks:
    raise RuntimeError(f"zookeeper: no JDK for Debian {node['platform_version']} in "
                       f"node['zookeeper']['java']['jdk_by_platform_version'] ({', '.join(jdks)})")
arch = {"x86_64": "amd64", "aarch64": "arm64"}.get(node["kernel"]["machine"],
                                                  node["kernel"]["machine"])
java = f"/usr/lib/jvm/{jdks[release]}-{arch}/bin/java"

template("/etc/systemd/system/zookeeper.service", source="zookeeper.service.j2",
         owner="root", group="root", mode="0644", variables={"java": java},
         notifies=[("run", "execute[systemctl daemon-reload (zookeeper)]", "immediately"),
                   ("restart", "service[zookeeper]")])

execute("systemctl daemon-reload (zookeeper)", command="systemctl daemon-reload",
        action="nothing")

service("zookeeper", action=["enable", "start"])
