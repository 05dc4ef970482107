# base::sshd: OpenSSH server hardened through a drop-in (Debian's sshd_config includes
# /etc/ssh/sshd_config.d/*.conf first, and the first value of a keyword wins).
package("openssh-server")

template("/etc/ssh/sshd_config.d/50-base.conf",
         source="sshd_base.conf.j2",
         owner="root", group="root", mode="0644",
         variables={"settings": node["base"]["sshd"]},
         notifies=[("run", "execute[sshd -t]", "immediately"),
                   ("reload", "service[ssh]")])

# A broken drop-in fails the run here, before sshd is reloaded with it.
execute("sshd -t", command="/usr/sbin/sshd -t", action="nothing")

service("ssh", action=["enable", "start"])
