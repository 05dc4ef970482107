# zookeeper::install: Debian's zookeeperd (pulls default-jre; ~150 packages, the slowest
# install of the example infrastructure). The package starts the service from its sample
# configuration; the config recipe replaces it and the delayed restart picks it up.
package("zookeeperd")

directory(node["zookeeper"]["data_dir"], owner="zookeeper", group="zookeeper", mode="0750")
directory(node["zookeeper"]["log_dir"], owner="zookeeper", group="zookeeper", mode="0755")
