"""Channels in the management API: list, create, show, delete, send a test notification.

``GET channels/`` is Healthchecks' (reference §3.2: read-write key only, ``{"id", "name",
"kind"}`` per channel); the others are Cronbeat's and follow the same conventions.
"""

from __future__ import annotations

from typing import Any

from litestar import Response
from sqlalchemy.ext.asyncio import AsyncSession

from app.db import models as m
from app.db.engine import write_session
from app.domain import channels
from app.domain.checks import isoformat
from app.domain.errors import ValidationError
from app.web.api.auth import ApiCall, ApiEndpoint

channel_list = ApiEndpoint("/channels/", name="api-channels")
channel_detail = ApiEndpoint("/channels/{channel_code:uuid}", name="api-channel")
channel_test = ApiEndpoint("/channels/{channel_code:uuid}/test", name="api-channel-test")

ANOTHER_PROJECT = "channel belongs to another project"


def channel_summary(channel: m.Channel) -> dict[str, Any]:
    return {"id": str(channel.code), "name": channel.name, "kind": channel.kind}


def channel_to_dict(channel: m.Channel) -> dict[str, Any]:
    return {
        **channel_summary(channel),
        "value": channel.value,
        "disabled": channel.disabled,
        "last_notify": isoformat(channel.last_notify),
        "last_error": channel.last_error,
    }


def _string(body: dict[str, Any], field: str) -> str:
    value = body.get(field, "")
    if not isinstance(value, str):
        raise ValidationError(field, f"{field} is not a string")
    return value


async def _own_channel(call: ApiCall, session: AsyncSession) -> m.Channel:
    channel = await channels.get_channel(session, call.uuid_param("channel_code"))
    call.auth.require_project(channel.project_id, ANOTHER_PROJECT)
    return channel


@channel_list.get(write=True)
async def list_channels(call: ApiCall) -> Response[Any]:
    async with call.state.db.sessionmaker() as session:
        found = await channels.list_channels(session, call.auth.project_id)
    return Response({"channels": [channel_summary(channel) for channel in found]})


@channel_list.post()
async def create_channel(call: ApiCall) -> Response[Any]:
    name = _string(call.body, "name")
    kind = _string(call.body, "kind")
    value = call.body.get("value", {})
    async with write_session(call.state.db) as session:
        channel = await channels.create_channel(
            session,
            call.auth.project_id,
            name,
            kind,
            value,
            call.state.clock(),
            verify_email=call.state.settings.email_use_verification,
        )
    await channels.ask_to_verify(call.state.db, call.state.settings, channel.code)
    return Response(channel_summary(channel), status_code=201)


@channel_detail.get(write=True)
async def get_channel(call: ApiCall) -> Response[Any]:
    async with call.state.db.sessionmaker() as session:
        channel = await _own_channel(call, session)
    return Response(channel_to_dict(channel))


@channel_detail.delete()
async def delete_channel(call: ApiCall) -> Response[Any]:
    async with write_session(call.state.db) as session:
        channel = await _own_channel(call, session)
        await channels.delete_channel(session, channel)
    return Response(channel_to_dict(channel))


@channel_test.post()
async def test_channel(call: ApiCall) -> Response[Any]:
    async with call.state.db.sessionmaker() as session:
        channel = await _own_channel(call, session)
    state = call.state
    result = await channels.send_test(state.db, channel, state.settings, state.clock())
    return Response({"ok": result.ok, "error": result.error})


route_handlers = [channel_list.handler, channel_detail.handler, channel_test.handler]
