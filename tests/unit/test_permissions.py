"""The role matrix itself: every role against every right."""

from __future__ import annotations

import re

import pytest

from app.domain.permissions import MEMBER_ROLES, Right, Role, has_right, parse_member_role

EXPECTED = {
    (Role.OWNER, Right.VIEW): True,
    (Role.OWNER, Right.WRITE): True,
    (Role.OWNER, Right.MANAGE_TEAM): True,
    (Role.OWNER, Right.OWN): True,
    (Role.MANAGER, Right.VIEW): True,
    (Role.MANAGER, Right.WRITE): True,
    (Role.MANAGER, Right.MANAGE_TEAM): True,
    (Role.MANAGER, Right.OWN): False,
    (Role.REGULAR, Right.VIEW): True,
    (Role.REGULAR, Right.WRITE): True,
    (Role.REGULAR, Right.MANAGE_TEAM): False,
    (Role.REGULAR, Right.OWN): False,
    (Role.READONLY, Right.VIEW): True,
    (Role.READONLY, Right.WRITE): False,
    (Role.READONLY, Right.MANAGE_TEAM): False,
    (Role.READONLY, Right.OWN): False,
}


def test_the_table_covers_every_pair() -> None:
    assert set(EXPECTED) == {(role, right) for role in Role for right in Right}


@pytest.mark.parametrize(("role", "right"), sorted(EXPECTED))
def test_has_right(role: Role, right: Right) -> None:
    assert has_right(role, right) is EXPECTED[(role, right)]


def test_member_roles_exclude_the_owner() -> None:
    assert MEMBER_ROLES == (Role.READONLY, Role.REGULAR, Role.MANAGER)


@pytest.mark.parametrize("value", ["readonly", "regular", "manager"])
def test_parse_member_role_accepts_member_roles(value: str) -> None:
    assert parse_member_role(value) == Role(value)


@pytest.mark.parametrize("value", ["owner", "admin", ""])
def test_parse_member_role_refuses_the_rest(value: str) -> None:
    with pytest.raises(ValueError, match=re.escape(value) if value else "not a valid"):
        parse_member_role(value)
