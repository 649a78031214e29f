"""GraphiQL's page and its assets over HTTP (no browser): served by this server from the pinned npm
packages, with their media types, a year's caching under URLs that change with their bytes, a CSP
that allows this server only, and no URL that points anywhere else."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from html.parser import HTMLParser
from pathlib import Path

import httpx
import pytest

from core.settings import AppEnv, Settings
from tests.transport.client import client_for
from transport.ide import ASSETS_PATH, GraphiQL

PAGE = {"accept": "text/html"}
# Where a page could load code or styles from another host: an absolute or protocol-relative URL.
OFFSITE = ("http://", "https://", "//")
# The CDNs a GraphiQL page usually loads from (a bundle may name them in a message, not in a URL).
CDNS = (b"//unpkg.com", b"//cdn.jsdelivr.net", b"//cdnjs.cloudflare.com", b"//esm.sh", b"//fonts.gstatic.com")


class Links(HTMLParser):
    """Every URL the page names (script src, link href), and the text of any inline script or style."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []
        self.inline: list[str] = []
        self._open: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        for name in ("src", "href"):
            if found.get(name):
                self.urls.append(str(found[name]))
        if "style" in found:
            self.inline.append(f"style attribute on <{tag}>")
        self._open = tag if tag in ("script", "style") else None

    def handle_data(self, data: str) -> None:
        if self._open and data.strip():
            self.inline.append(f"<{self._open}>{data.strip()[:40]}")


@pytest.fixture
async def client(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    dev = settings.model_copy(update={"app_env": AppEnv.DEVELOPMENT, "graphiql": None})
    async with client_for(dev) as client:
        yield client


async def _page(client: httpx.AsyncClient) -> tuple[httpx.Response, Links]:
    response = await client.get("/graphql", headers=PAGE)
    assert response.status_code == 200, response.text  # 503: `make test` installs GraphiQL's files
    links = Links()
    links.feed(response.text)
    return response, links


async def test_the_page_names_assets_of_this_server_only(client: httpx.AsyncClient) -> None:
    response, links = await _page(client)

    assert response.headers["content-type"] == "text/html; charset=utf-8"
    assert response.headers["cache-control"] == "no-store"  # it names the assets' current URLs
    assets = [url for url in links.urls if url != "data:,"]  # the empty icon
    assert len(assets) == 7
    assert all(url.startswith(ASSETS_PATH + "/") for url in assets), assets
    assert not [url for url in links.urls if url.startswith(OFFSITE)]
    assert links.inline == []


async def test_the_page_csp_allows_this_server_only_and_no_inline_script(client: httpx.AsyncClient) -> None:
    response, _ = await _page(client)

    policy = dict(
        (part.split(" ", 1) + [""])[:2] for part in response.headers["content-security-policy"].split("; ")
    )
    assert policy["default-src"] == "'none'"
    assert policy["script-src"] == "'self'" and policy["style-src"] == "'self'"
    assert policy["connect-src"] == "'self'"  # the WebSocket on /graphql too
    assert policy["font-src"] == "data:" and policy["img-src"] == "'self' data:"
    assert policy["frame-ancestors"] == "'none'" and policy["form-action"] == "'none'"
    assert response.headers["x-frame-options"] == "DENY"


async def test_each_asset_is_served_with_its_type_and_kept_for_a_year(client: httpx.AsyncClient) -> None:
    _, links = await _page(client)

    for url in (u for u in links.urls if u.startswith(ASSETS_PATH)):
        response = await client.get(url)
        assert response.status_code == 200, url
        digest, name = url.removeprefix(ASSETS_PATH + "/").split("/")
        kind = "text/css" if name.endswith(".css") else "text/javascript"
        assert response.headers["content-type"] == f"{kind}; charset=utf-8", url
        assert response.headers["cache-control"] == "public, max-age=31536000, immutable", url
        # the URL changes with the bytes, which is what makes a year's caching safe
        assert hashlib.sha256(response.content).hexdigest().startswith(digest), url
        assert not [cdn for cdn in CDNS if cdn in response.content], url
        if kind == "text/css":
            assert b"@import" not in response.content and b"url(http" not in response.content


@pytest.mark.parametrize(
    "path",
    [
        "/0000000000000000/graphiql.min.js",  # an old digest
        "/{digest}/package.json",  # a file of the folder that is no asset
        "/{digest}/..%2F..%2Fide.py",
        "/{digest}",
    ],
)
async def test_anything_else_under_the_assets_path_is_not_found(client: httpx.AsyncClient, path: str) -> None:
    _, links = await _page(client)
    digest = next(u for u in links.urls if u.endswith("/graphiql.min.js")).split("/")[-2]

    response = await client.get(ASSETS_PATH + path.format(digest=digest))

    assert response.status_code == 404
    if response.headers["content-type"] == "application/json":
        assert response.json()["errors"][0]["extensions"]["code"] == "NOT_FOUND"


async def test_production_serves_neither_the_page_nor_its_assets(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    _, links = await _page(client)
    production = settings.model_copy(update={"app_env": AppEnv.PRODUCTION, "graphiql": None})

    async with client_for(production) as prod:
        page = await prod.get("/graphql", headers=PAGE)
        asset = await prod.get(next(u for u in links.urls if u.startswith(ASSETS_PATH)))

    assert page.status_code == 406
    assert asset.status_code == 404


def test_without_the_npm_install_the_page_says_what_to_run(tmp_path: Path) -> None:
    response = GraphiQL(folder=tmp_path).page()

    assert response.status_code == 503
    assert b"make run" in response.body and b"node_modules/graphiql/graphiql.min.js" in response.body
