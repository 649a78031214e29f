"""Who is calling: the viewer named by a bearer token or an X-API-Key header."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from starlette.requests import Request

from core.errors import Unauthenticated
from core.settings import Settings
from core.tokens import viewer_from_authorization
from core.viewer import Viewer
from resolvers.auth.api_keys import api_key_viewer
from resolvers.auth.revocations import is_erased

API_KEY_HEADER = "x-api-key"
AUTHORIZATION_HEADER = "authorization"


async def viewer_of(request: Request, *, secret: str, settings: Settings) -> Viewer:
    """From `Authorization: Bearer <jwt>` or `X-API-Key`, never both; neither is anonymous."""
    return await viewer_of_headers(request.headers, request.state, secret=secret, settings=settings)


async def viewer_of_headers(
    headers: Mapping[str, str], state: Any, *, secret: str, settings: Settings
) -> Viewer:
    """`viewer_of` for headers looked up by lowercase name (HTTP's, or a WebSocket's connection_init
    payload), with the app's lifespan state."""
    api_key = headers.get(API_KEY_HEADER)
    authorization = headers.get(AUTHORIZATION_HEADER)
    if api_key is None:
        viewer = viewer_from_authorization(authorization, secret=secret)
        if viewer.user_id is not None and await is_erased(
            state.redis, state.sessionmaker, settings, user_id=viewer.user_id
        ):
            raise Unauthenticated("The account of this access token was erased.")
        return viewer
    if authorization:
        raise Unauthenticated("Send an API key or a bearer token, not both.")
    # On the primary: the lookup records when the key was last used.
    viewer = await api_key_viewer(state.sessionmaker, api_key.strip())
    if viewer is None:
        raise Unauthenticated("The API key is invalid, revoked or expired.")
    return viewer
