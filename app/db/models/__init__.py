"""All models, imported here so Alembic's metadata sees every table."""

from advanced_alchemy.base import IdentityBase

from ._channel import Channel
from ._check import Check, check_channels
from ._flip import Flip, Lease, Notification
from ._ping import Ping
from ._project import Member, Project
from ._user import Profile, User
from ._web import TokenBucket, WebSession

metadata = IdentityBase.metadata

__all__ = [
    "Channel",
    "Check",
    "Flip",
    "Lease",
    "Member",
    "Notification",
    "Ping",
    "Profile",
    "Project",
    "TokenBucket",
    "User",
    "WebSession",
    "check_channels",
    "metadata",
]
