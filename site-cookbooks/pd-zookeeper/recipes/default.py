# pd-zookeeper::default: the zookeeper cookbook with our attributes.
include_recipe("zookeeper::default")
