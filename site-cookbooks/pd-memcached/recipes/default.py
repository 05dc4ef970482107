# pd-memcached::default: the community memcached recipe with our attributes.
# Listen on the node's own address: computed here, at the `default` level (as a Chef wrapper
# does with node.default), so roles and environments can still override it.
node.default["memcached"]["listen"] = node["ipaddress"]
include_recipe("memcached::default")
