"""Who may do what in a project (reference §8.1). Pure: the pages and their tests share it.

Roles: the owner; a manager; a regular member; a read-only member. Read-only members see
everything and change nothing; members change checks, integrations and keys; managers also
manage the team; only the owner deletes or hands over the project.
"""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    OWNER = "owner"
    MANAGER = "manager"
    REGULAR = "regular"
    READONLY = "readonly"

    @property
    def label(self) -> str:
        return _LABELS[self]


_LABELS = {
    Role.OWNER: "Owner",
    Role.MANAGER: "Manager",
    Role.REGULAR: "Member",
    Role.READONLY: "Read-only",
}

# The roles a member can be given (the owner is not a membership).
MEMBER_ROLES = (Role.READONLY, Role.REGULAR, Role.MANAGER)


class Right(StrEnum):
    VIEW = "view"  # see checks, pings, integrations, members
    WRITE = "write"  # change checks and integrations, rename, keys
    MANAGE_TEAM = "manage_team"  # invite, change roles, remove members
    OWN = "own"  # delete the project, transfer ownership


_RIGHTS: dict[Role, frozenset[Right]] = {
    Role.READONLY: frozenset({Right.VIEW}),
    Role.REGULAR: frozenset({Right.VIEW, Right.WRITE}),
    Role.MANAGER: frozenset({Right.VIEW, Right.WRITE, Right.MANAGE_TEAM}),
    Role.OWNER: frozenset(Right),
}


def has_right(role: Role, right: Right) -> bool:
    return right in _RIGHTS[role]


def parse_member_role(value: str) -> Role:
    """A role from a form; raises ValueError for the owner or anything unknown."""
    role = Role(value)
    if role not in MEMBER_ROLES:
        raise ValueError(value)
    return role
