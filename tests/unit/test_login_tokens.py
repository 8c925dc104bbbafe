"""Emailed sign-in and password reset tokens: signed, one hour, single use."""

from __future__ import annotations

from datetime import timedelta

import pytest
from itsdangerous import URLSafeTimedSerializer
from sqlalchemy import update

from app.db import models as m
from app.db.engine import Database, write_session
from app.domain import accounts
from app.domain.accounts import LinkError
from tests.conftest import FakeClock
from tests.factories import Factory

SECRET = "test-secret-key"


async def fresh(db: Database, user: m.User) -> m.User:
    async with db.sessionmaker() as session:
        return await session.get_one(m.User, user.id)


async def login_user(db: Database, token: str, clock: FakeClock, secret: str = SECRET) -> m.User:
    async with db.sessionmaker() as session:
        return await accounts.user_from_login_token(session, token, clock(), secret_key=secret)


async def reset_user(db: Database, token: str, clock: FakeClock) -> m.User:
    async with db.sessionmaker() as session:
        return await accounts.user_from_reset_token(session, token, clock(), secret_key=SECRET)


async def test_a_login_token_names_its_user(
    db: Database, factory: Factory, clock: FakeClock
) -> None:
    user = await factory.user("alice@example.org")
    token = accounts.login_token(user, clock(), secret_key=SECRET)
    assert (await login_user(db, token, clock)).id == user.id


async def test_a_login_token_lasts_one_hour(
    db: Database, factory: Factory, clock: FakeClock
) -> None:
    user = await factory.user()
    token = accounts.login_token(user, clock(), secret_key=SECRET)
    clock.advance(hours=1)
    assert (await login_user(db, token, clock)).id == user.id
    clock.advance(seconds=1)
    with pytest.raises(LinkError) as error:
        await login_user(db, token, clock)
    assert error.value.reason == "expired"
    assert error.value.message == "This sign-in link has expired."


async def test_a_token_from_the_future_is_refused(
    db: Database, factory: Factory, clock: FakeClock
) -> None:
    user = await factory.user()
    token = accounts.login_token(user, clock() + timedelta(minutes=5), secret_key=SECRET)
    with pytest.raises(LinkError) as error:
        await login_user(db, token, clock)
    assert error.value.reason == "invalid"


async def test_using_a_login_token_spends_it(
    db: Database, factory: Factory, clock: FakeClock
) -> None:
    user = await factory.user()
    token = accounts.login_token(user, clock(), secret_key=SECRET)
    clock.advance(minutes=1)
    async with write_session(db) as session:
        used = await accounts.use_login_token(session, token, clock(), secret_key=SECRET)
    assert used.last_login == clock()
    assert (await fresh(db, user)).last_login == clock()
    with pytest.raises(LinkError) as error:
        await login_user(db, token, clock)
    assert error.value.reason == "used"
    assert error.value.message == "This sign-in link has already been used."
    # A new link, issued after that sign-in, works.
    token = accounts.login_token(await fresh(db, user), clock(), secret_key=SECRET)
    assert (await login_user(db, token, clock)).id == user.id


async def test_any_sign_in_spends_an_older_token(
    db: Database, factory: Factory, clock: FakeClock
) -> None:
    user = await factory.user()
    token = accounts.login_token(user, clock(), secret_key=SECRET)
    async with db.engine.begin() as conn:  # a password sign-in elsewhere
        await conn.execute(update(m.User).where(m.User.id == user.id).values(last_login=clock()))
    with pytest.raises(LinkError) as error:
        await login_user(db, token, clock)
    assert error.value.reason == "used"


@pytest.mark.parametrize(
    "mangle",
    [
        # A middle character of the signature (the last one has unused low bits).
        lambda t: t[:-5] + ("A" if t[-5] != "A" else "B") + t[-4:],
        lambda t: "x" + t,  # payload
        lambda t: "",
        lambda t: "not.a.token",
    ],
)
async def test_a_tampered_token_is_invalid(
    db: Database, factory: Factory, clock: FakeClock, mangle: object
) -> None:
    user = await factory.user()
    token = accounts.login_token(user, clock(), secret_key=SECRET)
    assert callable(mangle)
    with pytest.raises(LinkError) as error:
        await login_user(db, mangle(token), clock)
    assert error.value.reason == "invalid"
    assert error.value.message == "This sign-in link is not valid."


async def test_a_token_signed_with_another_key_is_invalid(
    db: Database, factory: Factory, clock: FakeClock
) -> None:
    user = await factory.user()
    token = accounts.login_token(user, clock(), secret_key="another key")
    with pytest.raises(LinkError):
        await login_user(db, token, clock)


async def test_sign_in_and_reset_tokens_are_not_interchangeable(
    db: Database, factory: Factory, clock: FakeClock
) -> None:
    user = await factory.user()
    with pytest.raises(LinkError) as error:
        await reset_user(db, accounts.login_token(user, clock(), secret_key=SECRET), clock)
    assert error.value.message == "This password reset link is not valid."
    with pytest.raises(LinkError):
        await login_user(db, accounts.reset_token(user, clock(), secret_key=SECRET), clock)


@pytest.mark.parametrize(
    "payload",
    [
        {"uid": "1", "s": "", "t": 0},
        {"uid": 1, "s": None, "t": 0},
        {"uid": 1, "s": "", "t": "now"},
        [1, "", 0],
        "hello",
    ],
)
async def test_a_signed_but_malformed_payload_is_invalid(
    db: Database, factory: Factory, clock: FakeClock, payload: object
) -> None:
    await factory.user()
    token = URLSafeTimedSerializer(SECRET, salt="login").dumps(payload)
    with pytest.raises(LinkError) as error:
        await login_user(db, str(token), clock)
    assert error.value.reason == "invalid"


async def test_a_deactivated_or_deleted_user_cannot_use_a_token(
    db: Database, factory: Factory, clock: FakeClock
) -> None:
    user = await factory.user()
    token = accounts.login_token(user, clock(), secret_key=SECRET)
    async with db.engine.begin() as conn:
        await conn.execute(update(m.User).where(m.User.id == user.id).values(is_active=False))
    with pytest.raises(LinkError) as error:
        await login_user(db, token, clock)
    assert error.value.reason == "invalid"


async def test_a_reset_token_works_until_the_password_changes(
    db: Database, factory: Factory, clock: FakeClock
) -> None:
    user = await factory.user("alice@example.org", "the old password")
    token = accounts.reset_token(user, clock(), secret_key=SECRET)
    assert (await reset_user(db, token, clock)).id == user.id
    async with write_session(db) as session:
        found = await accounts.use_reset_token(session, token, clock(), secret_key=SECRET)
        await accounts.reset_password(session, found.id, "the new password")
    with pytest.raises(LinkError) as error:
        await reset_user(db, token, clock)
    assert error.value.reason == "used"
    assert error.value.message == "This password reset link has already been used."


async def test_a_reset_token_expires_after_an_hour(
    db: Database, factory: Factory, clock: FakeClock
) -> None:
    user = await factory.user("alice@example.org", "the old password")
    token = accounts.reset_token(user, clock(), secret_key=SECRET)
    clock.advance(hours=2)
    with pytest.raises(LinkError) as error:
        await reset_user(db, token, clock)
    assert error.value.message == "This password reset link has expired."
