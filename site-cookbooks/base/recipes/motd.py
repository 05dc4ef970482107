# base::motd: say which node this is, its roles and its environment at login.
template("/etc/motd", source="motd.j2", owner="root", group="root", mode="0644",
         variables={"roles": node["roles"],
                    "environment": node.chef_environment,
                    "company": node["base"]["company"],
                    "notice": node["base"]["motd"]["notice"]})
