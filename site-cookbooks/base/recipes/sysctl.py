# base::sysctl: kernel settings in /etc/sysctl.d, applied by systemd-sysctl.
# systemd-sysctl treats a read-only /proc/sys (containers) as "not allowed here" and skips
# the keys without failing, while a real host applies them: one recipe for both, no test-only
# branch. (systemd-sysctl.service itself does not run in containers: ConditionPathIsReadWrite.)
conf = "/etc/sysctl.d/60-base.conf"

template(conf, source="sysctl.conf.j2", owner="root", group="root", mode="0644",
         variables={"settings": node["base"]["sysctl"]},
         notifies=[("run", "execute[apply sysctl settings]", "immediately")])

execute("apply sysctl settings", command=f"/usr/lib/systemd/systemd-sysctl {conf}",
        action="nothing")
