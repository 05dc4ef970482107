"""The node agent: converges a node's run list against the config server (like chef-client).

Ships alone to nodes as a zipapp (see build.py), so it imports nothing from the rest of
`harness`: stdlib plus the vendored jinja2/markupsafe, relative imports only.
"""

AGENT_VERSION = "0.1.0"
