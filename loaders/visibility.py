"""Row visibility per viewer, applied in the SQL of every query and loader (never by filtering after)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, false, true

from core.policies import SEES_EVERY_CAMPAIGN, SEES_EVERY_MERCHANT, SEES_EVERY_USER
from core.viewer import Role, Viewer
from models.campaigns import Campaign
from models.users import User


def campaigns_visible_to(viewer: Viewer) -> ColumnElement[bool]:
    """Staff and services see every campaign; merchant staff their merchant's only; others none."""
    if viewer.role in SEES_EVERY_CAMPAIGN:
        return true()
    if viewer.role is Role.MERCHANT and viewer.merchant_id is not None:
        return Campaign.merchant_id == viewer.merchant_id
    return false()


def users_visible_to(viewer: Viewer) -> ColumnElement[bool]:
    """Admins see every user; anyone else with an account sees only themself."""
    if viewer.role in SEES_EVERY_USER:
        return true()
    if viewer.user_id is not None:
        return User.id == viewer.user_id
    return false()


def merchant_owned_by(viewer: Viewer, merchant_id_column: ColumnElement[int]) -> ColumnElement[bool]:
    """Staff see every merchant's private data; merchant staff only their own merchant's."""
    if viewer.role in SEES_EVERY_MERCHANT:
        return true()
    if viewer.role is Role.MERCHANT and viewer.merchant_id is not None:
        return merchant_id_column == viewer.merchant_id
    return false()


def user_rows_visible_to(viewer: Viewer, user_id_column: Any) -> ColumnElement[bool]:
    """The rows of users the viewer may see (users_visible_to, on a table's user_id column)."""
    if viewer.role in SEES_EVERY_USER:
        return true()
    if viewer.user_id is not None:
        return user_id_column == viewer.user_id
    return false()


def sees_rows_of(viewer: Viewer, user_id: int) -> bool:
    """Whether `user_rows_visible_to(viewer, ...)` is true for this user's rows."""
    return viewer.role in SEES_EVERY_USER or (viewer.user_id is not None and viewer.user_id == user_id)
