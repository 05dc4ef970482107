# haproxy::install: the package, a configuration check and the service. The recipes that
# include this one declare template[/etc/haproxy/haproxy.cfg].
package("haproxy")

# A broken configuration fails the run here, before haproxy is reloaded with it.
execute("haproxy -c", command="haproxy -c -q -f /etc/haproxy/haproxy.cfg", action="nothing")

service("haproxy", action=["enable", "start"])
