#!/bin/bash
# Runs inside the freshly debootstrapped root (chroot) before it is imported as an image.
# Only container plumbing here: nothing a production host would not have.
set -euo pipefail

# Every container generates its own machine id at boot (systemd does it when the file is empty).
: > /etc/machine-id
rm -f /var/lib/dbus/machine-id

# Units that need a console or real hardware fail or hang in a container.
for unit in getty@tty1.service console-getty.service getty-static.service \
            systemd-pstore.service e2scrub_reap.service e2scrub_all.timer fstrim.timer \
            systemd-pcrphase.service systemd-pcrphase-sysinit.service; do
    ln -sf /dev/null "/etc/systemd/system/$unit"
done
# apt's periodic timers would race the agent for the dpkg lock in a short-lived node.
for unit in apt-daily.timer apt-daily-upgrade.timer dpkg-db-backup.timer; do
    ln -sf /dev/null "/etc/systemd/system/$unit"
done

# As in Debian's own Docker images: dpkg skips fsync on unpack. A container's disk is
# throw-away, and unpacking is most of a node's converge time (zookeeperd: 25 s -> 18 s).
echo force-unsafe-io > /etc/dpkg/dpkg.cfg.d/docker-apt-speedup

# Smaller image; nodes run `apt-get update` themselves like a fresh host does.
apt-get clean
rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin /var/log/*.log /var/log/apt/* /tmp/* /var/tmp/*
