# zookeeper::service: a native systemd unit. It replaces the unit systemd generates from the
# package's LSB init script (same name; a native unit wins), so that systemd supervises the
# JVM itself, the heap is set, logs reach the journal, and no JMX agent opens a random port.
#
# The loaded unit is the generated one until systemd re-reads its unit files, and systemd
# does not flag that as NeedDaemonReload (the generated unit's own file did not change), so
# the unit file notifies an explicit daemon-reload, like Chef's systemd_unit resource does.
template("/etc/systemd/system/zookeeper.service", source="zookeeper.service.j2",
         owner="root", group="root", mode="0644",
         notifies=[("run", "execute[systemctl daemon-reload (zookeeper)]", "immediately"),
                   ("restart", "service[zookeeper]")])

execute("systemctl daemon-reload (zookeeper)", command="systemctl daemon-reload",
        action="nothing")

service("zookeeper", action=["enable", "start"])
