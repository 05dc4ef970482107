# base::default: what every host gets. Each part is its own recipe so roles and unit tests
# can name them.
include_recipe("apt")
include_recipe("base::packages")
include_recipe("base::users")
include_recipe("base::sshd")
include_recipe("base::sysctl")
include_recipe("base::motd")
