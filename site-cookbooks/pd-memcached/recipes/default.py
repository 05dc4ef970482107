# pd-memcached::default: the community memcached recipe with our attributes.
include_recipe("memcached::default")
