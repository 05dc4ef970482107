# base::users: operators from the `users` data bag (like the community users cookbook).
# Item shape: {"id", "uid", "gid", "comment", "shell", "groups": [...], "ssh_keys": [...],
#              "sudo_nopasswd": bool}
for login in node["base"]["users"]:
    item = data_bag_item("users", login)
    home = item.get("home") or f"/home/{login}"
    group(login, gid=item.get("gid"))
    user(login,
         uid=item.get("uid"),
         gid=login,
         home=home,
         shell=item.get("shell", "/bin/bash"),
         comment=item.get("comment"),
         manage_home=True)
    # Chef's user has no groups property: membership is each group's, appended to.
    for extra in item.get("groups", []):
        group(extra, members=[login], append=True)
    directory(f"{home}/.ssh", owner=login, group=login, mode="0700")
    file(f"{home}/.ssh/authorized_keys",
         content="".join(f"{key.strip()}\n" for key in item.get("ssh_keys", [])),
         owner=login, group=login, mode="0600")
    sudoers = f"/etc/sudoers.d/{login}"
    if item.get("sudo_nopasswd"):
        # Operators log in with keys only (no passwords), so sudo must not ask for one.
        # verify checks the staged file before it replaces the old one: a broken drop-in
        # never reaches /etc/sudoers.d, where it would lock sudo out.
        file(sudoers, content=f"# Managed by the harness agent (cookbook base)\n"
                              f"{login} ALL=(ALL:ALL) NOPASSWD: ALL\n",
             owner="root", group="root", mode="0440", verify="visudo -c -q -f %{path}")
    else:
        file(sudoers, action="delete")
