# apt::default: refresh the package lists when they are older than the configured period.
# Chef's package resource never runs `apt-get update` itself: a fresh host has no lists, so
# this runs first in every role (through base). It also keeps long-lived hosts from installing
# from stale lists.
minutes = max(1, int(node["apt"]["periodic_update_min_delay"]) // 60)
stamp = "/var/lib/apt/periodic/update-success-stamp"

directory("/var/lib/apt/periodic", owner="root", group="root", mode="0755")

cookbook_file("/etc/apt/apt.conf.d/15update-stamp", source="15update-stamp",
              owner="root", group="root", mode="0644")

execute("apt-get update",
        command="apt-get update -q",
        environment={"DEBIAN_FRONTEND": "noninteractive"},
        not_if=f'test -n "$(find {stamp} -mmin -{minutes} 2>/dev/null)"')
