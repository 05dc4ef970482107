"""Build the config server's aiohttp application from the store and the route tables.

The route modules (api.py, routes.py) never import this one: it only wires them together
behind the one middleware (wire.py) that maps errors to statuses.
"""
from __future__ import annotations

from aiohttp import web

from harness.server.api import AgentSource, Api
from harness.server.auth import Authenticator
from harness.server.routes import DataRoutes
from harness.server.store import Store
from harness.server.wire import MAX_BODY, make_middleware


def build_app(store: Store, admin_token: str, agent_pyz: AgentSource = None) -> web.Application:
    """The aiohttp application serving `store`; agent_pyz as bytes, or a function that builds
    it on the first download (the caller chooses: the server does not build agents)."""
    app = web.Application(middlewares=[make_middleware(Authenticator(store, admin_token))],
                          client_max_size=MAX_BODY)
    api = Api(store, agent_pyz)
    api.register(app)
    DataRoutes(api).register(app)
    return app
