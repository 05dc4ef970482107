# zookeeper::default: install, configure (members by search), run.
include_recipe("zookeeper::install")
include_recipe("zookeeper::config")
include_recipe("zookeeper::service")
