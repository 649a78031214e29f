"""Headers on every response: the request id, security headers, CORS from settings, GraphiQL's CSP."""

from __future__ import annotations

import logging
import re

import httpx
import pytest
from starlette.requests import Request
from starlette.routing import Route

from core.settings import AppEnv, Settings
from server import create_app
from tests.transport.client import client_for

ALLOWED_ORIGIN = "https://dashboard.example.com"
HEX_ID = re.compile(r"[0-9a-f]{32}")


@pytest.mark.parametrize("path", ["/graphql?query={__typename}", "/healthz", "/readyz"])
async def test_a_given_request_id_is_echoed_on_every_route(settings: Settings, path: str) -> None:
    async with client_for(settings) as client:
        response = await client.get(path, headers={"x-request-id": "client-id.42"})

    assert response.headers["x-request-id"] == "client-id.42"


@pytest.mark.parametrize("given", [None, "", "has spaces", "x" * 200, "new\nline"])
async def test_a_missing_or_unsafe_request_id_is_replaced(settings: Settings, given: str | None) -> None:
    headers = {} if given is None else {"x-request-id": given}
    async with client_for(settings) as client:
        response = await client.post("/graphql", json={"query": "{ nope }"}, headers=headers)

    request_id = response.headers["x-request-id"]
    assert HEX_ID.fullmatch(request_id)
    assert response.json()["errors"][0]["extensions"]["requestId"] == request_id


async def test_security_headers_are_on_every_response(settings: Settings) -> None:
    async with client_for(settings) as client:
        health = await client.get("/healthz")
        graphql = await client.post("/graphql", json={"query": "{ __typename }"})
        missing = await client.get("/no-such-page")

    for response in (health, graphql, missing):
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["x-frame-options"] == "DENY"
        assert response.headers["referrer-policy"] == "no-referrer"
        assert response.headers["content-security-policy"].startswith("default-src 'none'")
        assert "strict-transport-security" not in response.headers
    assert graphql.headers["cache-control"] == "no-store"
    assert "cache-control" not in health.headers


async def test_production_adds_hsts_and_turns_graphiql_off(settings: Settings) -> None:
    production = settings.model_copy(update={"app_env": AppEnv.PRODUCTION, "graphiql": None})
    async with client_for(production) as client:
        response = await client.get("/graphql", headers={"accept": "text/html"})

    assert response.headers["strict-transport-security"].startswith("max-age=")
    assert "graphiql" not in response.text.lower()
    assert response.status_code == 406


async def test_graphiql_page_may_load_its_assets(settings: Settings) -> None:
    dev = settings.model_copy(update={"app_env": AppEnv.DEVELOPMENT, "graphiql": None})
    async with client_for(dev) as client:
        response = await client.get("/graphql", headers={"accept": "text/html"})

    csp = response.headers["content-security-policy"]
    assert response.status_code == 200 and "graphiql" in response.text.lower()
    # its assets come from this server (tests/transport/graphiql/ checks them one by one)
    assert "script-src 'self';" in csp and "http" not in csp and "unsafe-inline" not in csp
    assert "connect-src 'self'" in csp
    assert response.headers["x-frame-options"] == "DENY"


async def test_cors_preflight_from_an_allowed_origin(settings: Settings) -> None:
    async with client_for(settings.model_copy(update={"cors_origins": ALLOWED_ORIGIN})) as client:
        response = await client.options(
            "/graphql",
            headers={
                "origin": ALLOWED_ORIGIN,
                "access-control-request-method": "POST",
                "access-control-request-headers": "authorization, content-type",
            },
        )

    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == ALLOWED_ORIGIN
    assert "authorization" in response.headers["access-control-allow-headers"].lower()
    assert response.headers["x-request-id"]


async def test_cors_preflight_from_another_origin_is_refused(settings: Settings) -> None:
    async with client_for(settings.model_copy(update={"cors_origins": ALLOWED_ORIGIN})) as client:
        response = await client.options(
            "/graphql",
            headers={"origin": "https://evil.example.net", "access-control-request-method": "POST"},
        )

    assert response.status_code == 400
    assert "access-control-allow-origin" not in response.headers


async def test_a_cross_origin_response_exposes_the_request_id(settings: Settings) -> None:
    async with client_for(settings.model_copy(update={"cors_origins": ALLOWED_ORIGIN})) as client:
        response = await client.post(
            "/graphql", json={"query": "{ __typename }"}, headers={"origin": ALLOWED_ORIGIN}
        )

    assert response.headers["access-control-allow-origin"] == ALLOWED_ORIGIN
    assert "x-request-id" in response.headers["access-control-expose-headers"].lower()


async def test_an_unhandled_error_is_masked_with_the_request_id(
    settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:

    async def boom(request: Request) -> None:
        raise RuntimeError("secret detail")

    app = create_app(settings)
    app.router.routes.append(Route("/boom", boom))
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        response = await client.get("/boom", headers={"x-request-id": "r-1"})

    assert response.status_code == 500
    assert "secret detail" not in response.text
    assert response.json()["errors"][0]["extensions"] == {"code": "INTERNAL", "requestId": "r-1"}
    assert response.headers["x-request-id"] == "r-1"
    (logged,) = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert logged.request_id == "r-1"  # type: ignore[attr-defined]
    assert "secret detail" in (logged.exc_text or "")
