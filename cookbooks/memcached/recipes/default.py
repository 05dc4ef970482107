# memcached::default: Debian's memcached, configured by /etc/memcached.conf (read by the
# package's systemd-memcached-wrapper), restarted when the configuration changes.
settings = node["memcached"]

package("memcached")

template("/etc/memcached.conf",
         source="memcached.conf.j2",
         owner="root", group="root", mode="0644",
         variables={"listen": settings["listen"], "settings": settings},
         notifies=[("restart", "service[memcached]")])

service("memcached", action=["enable", "start"])
