"""Viewers, ids and a statement counter shared by the users-domain tests."""

from __future__ import annotations

from typing import Any

from strawberry import relay

from core.viewer import Role, Viewer

ADMIN = Viewer(role=Role.ADMIN, user_id=None)
MARKETER = Viewer(role=Role.MARKETER, user_id=None)
SERVICE = Viewer(role=Role.SERVICE)


def customer(user_id: int) -> Viewer:
    return Viewer(role=Role.CUSTOMER, user_id=user_id)


def gid(type_name: str, pk: int) -> str:
    return relay.to_base64(type_name, pk)


def nodes(connection: dict[str, Any]) -> list[dict[str, Any]]:
    return [edge["node"] for edge in connection["edges"]]
