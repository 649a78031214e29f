"""Input checks shared by the flag and variant writes: the formats and lengths their fields allow."""

from __future__ import annotations

import re

from resolvers.outcomes import ProblemCode, Problems

KEY_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_.-]*$")  # ck_feature_flags_key_slug
VARIANT_KEY_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
EMAIL_PATTERN = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
KEY_MAX, NAME_MAX, DESCRIPTION_MAX, EMAIL_MAX = 100, 255, 5000, 320
REASON_MAX, SEGMENT_MAX, VARIANT_VALUE_MAX = 500, 100, 5000


def check_email(problems: Problems, value: str | None) -> None:
    problems.require_length("owner_email", value, max_length=EMAIL_MAX)
    if value and len(value) <= EMAIL_MAX and not EMAIL_PATTERN.match(value):
        problems.add("owner_email", "Not an email address.")


def check_reason(problems: Problems, reason: str | None, *, required: bool = False) -> None:
    problems.require_length("reason", reason, max_length=REASON_MAX, required=required)


def variant_problems(segment: str | None, reason: str | None) -> Problems:
    """The problems of the segment and reason every variant change gives."""
    problems = Problems()
    check_segment(problems, segment)
    check_reason(problems, reason)
    return problems


def check_segment(problems: Problems, segment: str | None) -> None:
    if segment is not None and not segment.strip():
        message = "Omit the segment for the variants of every segment."
        problems.add("user_segment", message, ProblemCode.REQUIRED)
    problems.require_length("user_segment", segment, max_length=SEGMENT_MAX)


def blank_to_none(value: str | None) -> str | None:
    if value is None or not value.strip():
        return None
    return value.strip()
