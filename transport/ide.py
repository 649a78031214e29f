"""GraphiQL's page and the files it loads, served by the API itself from the npm packages pinned in
transport/graphiql/ (package.json, package-lock.json; `make` runs `npm ci` there), so the IDE works
without the internet and under a Content-Security-Policy that allows this server only."""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from pathlib import Path
from string import Template

from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse, Response

from core.errors import ErrorCode
from transport.media import error_body
from transport.surface import request_id_of

log = logging.getLogger("swipesavvy.http")

FOLDER = Path(__file__).resolve().parent / "graphiql"
ASSETS_PATH = "/graphiql/assets"
ASSET_ROUTE = ASSETS_PATH + "/{digest}/{name}"
JS = "text/javascript; charset=utf-8"
CSS = "text/css; charset=utf-8"
# An asset's URL carries a digest of its bytes, so a new version is a new URL: a browser may keep
# each one for a year without asking again.
IMMUTABLE = "public, max-age=31536000, immutable"
DIGEST_CHARS = 16
# The page's template names each asset by its key; the URL ends with the file's name.
ASSETS = {
    "react": ("node_modules/react/umd/react.production.min.js", JS),
    "react_dom": ("node_modules/react-dom/umd/react-dom.production.min.js", JS),
    "graphql_ws": ("node_modules/graphql-ws/umd/graphql-ws.min.js", JS),
    "graphiql": ("node_modules/graphiql/graphiql.min.js", JS),
    "graphiql_css": ("node_modules/graphiql/graphiql.min.css", CSS),
    "page": ("page.js", JS),
    "page_css": ("page.css", CSS),
}
NOT_INSTALLED = (
    "GraphiQL's files are not installed ({missing}): `make run` or `make test` installs them "
    "(npm ci in transport/graphiql), or set GRAPHIQL=false."
)


@dataclass(frozen=True)
class Asset:
    name: str
    body: bytes
    media_type: str
    digest: str

    @classmethod
    def read(cls, path: Path, media_type: str) -> Asset:
        body = path.read_bytes()
        return cls(path.name, body, media_type, hashlib.sha256(body).hexdigest()[:DIGEST_CHARS])

    @property
    def url(self) -> str:
        return f"{ASSETS_PATH}/{self.digest}/{self.name}"


class GraphiQL:
    """The page, rendered once, and its assets, read once when the worker starts. Without the npm
    install the API still serves; the page says what to run instead of showing a broken IDE."""

    def __init__(self, folder: Path = FOLDER) -> None:
        self.assets: dict[str, Asset] = {}
        self.missing: str | None = None
        files = {key: folder / relative for key, (relative, _) in ASSETS.items()}
        absent = [str(path.relative_to(folder)) for path in files.values() if not path.is_file()]
        if absent:
            self.missing = NOT_INSTALLED.format(missing=", ".join(absent))
            log.warning("%s", self.missing)
            return
        found = {key: Asset.read(path, ASSETS[key][1]) for key, path in files.items()}
        self.assets = {asset.name: asset for asset in found.values()}
        template = Template((folder / "index.html").read_text("utf-8"))
        self.html = template.substitute({key: asset.url for key, asset in found.items()})

    def page(self) -> Response:
        if self.missing is not None:
            return PlainTextResponse(self.missing, status_code=503)
        return HTMLResponse(self.html)

    async def asset(self, request: Request) -> Response:
        """One asset by its URL; an old digest is not found rather than answered with other bytes,
        which the browser would then keep for a year under the old URL."""
        asset = self.assets.get(request.path_params["name"])
        if asset is None or request.path_params["digest"] != asset.digest:
            body = error_body("No such GraphiQL asset.", ErrorCode.NOT_FOUND, request_id_of(request.scope))
            return Response(body, status_code=404, media_type="application/json")
        return Response(asset.body, media_type=asset.media_type, headers={"cache-control": IMMUTABLE})
