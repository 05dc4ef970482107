# base::packages: the few tools every host has (keep this list short: install time is paid
# by every node of every test cluster).
for name in node["base"]["packages"]:
    package(name)
