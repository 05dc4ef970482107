"""Nodes: the container backend (the docker seam), clusters, bootstrap, reaper, waits, CLI."""
