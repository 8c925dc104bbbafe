"""Check fields as the management API validates them (reference §3.6): strict JSON types,
bounds, and Healthchecks' exact messages (the part after "json validation error: ")."""

from __future__ import annotations

from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

import pytest

from app.config import Settings
from app.domain.checks import (
    check_to_dict,
    flip_to_dict,
    slugify,
    tags_list,
    unique_key,
    validate_check_fields,
)
from app.domain.errors import ValidationError

NOW = datetime(2026, 1, 15, 12, 0, tzinfo=UTC)


def error_of(data: dict[str, Any], version: int = 3) -> str:
    with pytest.raises(ValidationError) as caught:
        validate_check_fields(data, version=version)
    return caught.value.message


# --- strings -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "field",
    [
        "name",
        "slug",
        "tags",
        "desc",
        "schedule",
        "tz",
        "channels",
        "subject",
        "subject_fail",
        "start_kw",
        "success_kw",
        "failure_kw",
    ],
)
@pytest.mark.parametrize("value", [None, False, 1, 1.5, [], {}])
def test_a_string_field_refuses_every_other_json_type(field, value):
    assert error_of({field: value}) == f"{field} is not a string"


@pytest.mark.parametrize(
    ("field", "limit"),
    [
        ("name", 100),
        ("slug", 100),
        ("tags", 500),
        ("schedule", 100),
        ("subject", 200),
        ("subject_fail", 200),
        ("start_kw", 200),
        ("success_kw", 200),
        ("failure_kw", 200),
    ],
)
def test_a_string_field_has_a_maximum_length(field, limit):
    assert error_of({field: "a" * (limit + 1)}) == f"{field} is too long"


def test_a_name_of_exactly_100_characters_is_accepted():
    assert validate_check_fields({"name": "x" * 100}, version=3) == {"name": "x" * 100}


def test_a_220_character_name_is_too_long():
    assert error_of({"name": "x" * 220}) == "name is too long"


def test_a_long_description_is_accepted():
    assert validate_check_fields({"desc": "d" * 5000}, version=3) == {"desc": "d" * 5000}


@pytest.mark.parametrize("slug", ["Uppercase", "with space", "dot.ted", "ümlaut", "a/b"])
def test_a_slug_must_match_the_pattern(slug):
    assert error_of({"slug": slug}) == "slug does not match pattern"


@pytest.mark.parametrize("slug", ["", "backups", "db-backup_2", "0-9"])
def test_a_slug_of_lowercase_letters_digits_hyphens_and_underscores_is_accepted(slug):
    assert validate_check_fields({"slug": slug}, version=3) == {"slug": slug}


@pytest.mark.parametrize("field", ["name", "desc", "tags", "channels", "success_kw"])
@pytest.mark.parametrize("bad", ["a\x00b", "\ud800"])
def test_a_string_that_no_database_can_store_is_refused(field, bad):
    assert error_of({field: bad}) == f"{field} contains invalid characters"


# --- numbers -------------------------------------------------------------------------------------


@pytest.mark.parametrize("field", ["timeout", "grace"])
@pytest.mark.parametrize("value", ["60", None, True, False, 60.0, 90.5, [], {}, "oops"])
def test_a_number_field_takes_only_json_integers(field, value):
    assert error_of({field: value}) == f"{field} is not a number"


@pytest.mark.parametrize("field", ["timeout", "grace"])
def test_a_number_field_has_bounds(field):
    assert error_of({field: 0}) == f"{field} is too small"
    assert error_of({field: 59}) == f"{field} is too small"
    assert error_of({field: -60}) == f"{field} is too small"
    assert error_of({field: 31536001}) == f"{field} is too large"
    assert error_of({field: 10**30}) == f"{field} is too large"


@pytest.mark.parametrize("field", ["timeout", "grace"])
def test_a_number_field_accepts_its_bounds(field):
    assert validate_check_fields({field: 60}, version=3) == {field: 60}
    assert validate_check_fields({field: 31536000}, version=3) == {field: 31536000}


# --- booleans and literals -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "field",
    ["manual_resume", "filter_subject", "filter_body", "filter_http_body", "filter_default_fail"],
)
@pytest.mark.parametrize("value", [None, 0, 1, "true", [], {}])
def test_a_boolean_field_takes_only_json_booleans(field, value):
    assert error_of({field: value}) == f"{field} is not a boolean"


@pytest.mark.parametrize("value", ["GET", "post", None, 0, [], False])
def test_methods_is_empty_or_post(value):
    assert error_of({"methods": value}) == "methods has unexpected value"


@pytest.mark.parametrize("value", ["", "POST"])
def test_methods_accepts_empty_and_post(value):
    assert validate_check_fields({"methods": value}, version=3) == {"methods": value}


# --- unique --------------------------------------------------------------------------------------


@pytest.mark.parametrize("value", ["x", "name", None, 1, {"name": 1}, True])
def test_unique_must_be_an_array(value):
    assert error_of({"unique": value}) == "unique is not an array"


@pytest.mark.parametrize("item", ["status", "desc", "", None, 1, ["name"], "NAME"])
def test_an_item_of_unique_must_be_a_matchable_field(item):
    assert error_of({"unique": ["name", item]}) == "an item in 'unique' has unexpected value"


def test_unique_accepts_the_five_matchable_fields():
    fields = ["name", "slug", "tags", "timeout", "grace"]
    assert validate_check_fields({"unique": fields}, version=3) == {"unique": fields}


# --- schedules and time zones --------------------------------------------------------------------


@pytest.mark.parametrize(
    "schedule",
    ["* * * * * *", "bad-expression", "", "0 0 30 2 *", "* * * * 8", "2000-02-30", "\x00"],
)
def test_a_schedule_must_be_a_valid_cron_or_oncalendar_expression(schedule):
    message = "schedule is not a valid cron or OnCalendar expression"
    assert error_of({"schedule": schedule}) == message


def test_a_schedule_over_100_characters_is_too_long_before_it_is_invalid():
    assert error_of({"schedule": "*" * 200}) == "schedule is too long"


@pytest.mark.parametrize(
    "schedule", ["5 * * * *", "0 9 * * 1-5", "12:34", "Mon *-*-* 00:00", "00:00\n12:00"]
)
def test_cron_and_oncalendar_schedules_are_accepted(schedule):
    assert validate_check_fields({"schedule": schedule}, version=3) == {"schedule": schedule}


@pytest.mark.parametrize("tz", ["not-a-timezone", "", "utc", "Europe/Nowhere", "posixrules"])
def test_a_time_zone_must_be_an_iana_zone(tz):
    assert error_of({"tz": tz}) == "tz is not a valid timezone"


def test_a_legacy_time_zone_name_is_stored_under_its_current_name():
    assert validate_check_fields({"tz": "Europe/Kiev"}, version=3) == {"tz": "Europe/Kyiv"}
    assert validate_check_fields({"tz": "Europe/Riga"}, version=3) == {"tz": "Europe/Riga"}


# --- the whole object ----------------------------------------------------------------------------


def test_unknown_keys_and_the_api_key_are_ignored():
    data = {"api_key": "X" * 32, "status": "up", "kind": "cron", "name": "ok"}
    assert validate_check_fields(data, version=3) == {"name": "ok"}


def test_the_first_bad_field_in_schema_order_is_reported():
    assert error_of({"grace": 1, "name": 5, "timeout": 1}) == "name is not a string"
    assert error_of({"unique": "x", "timeout": "x"}) == "timeout is not a number"


def test_a_full_valid_body_comes_back_normalised():
    data = {
        "name": "Backups",
        "slug": "backups",
        "tags": "prod db",
        "desc": "Nightly",
        "timeout": 3600,
        "grace": 60,
        "schedule": "0 3 * * *",
        "tz": "Asia/Calcutta",
        "manual_resume": True,
        "methods": "POST",
        "channels": "*",
        "subject": "OK",
        "subject_fail": "FAIL",
        "start_kw": "go",
        "success_kw": "done",
        "failure_kw": "error",
        "filter_subject": True,
        "filter_body": False,
        "filter_http_body": True,
        "filter_default_fail": False,
        "unique": ["name"],
    }
    assert validate_check_fields(data, version=3) == {**data, "tz": "Asia/Kolkata"}


# --- versions: v1 and v2 derive the slug from the name -------------------------------------------


@pytest.mark.parametrize("version", [1, 2])
def test_api_v1_and_v2_derive_the_slug_from_the_name(version):
    cleaned = validate_check_fields({"name": "Foo Bar"}, version=version)
    assert cleaned == {"name": "Foo Bar", "slug": "foo-bar"}


def test_api_v3_does_not_derive_the_slug():
    assert validate_check_fields({"name": "Foo Bar"}, version=3) == {"name": "Foo Bar"}


def test_an_explicit_slug_wins_over_the_derived_one_in_v1():
    cleaned = validate_check_fields({"name": "Foo", "slug": "bar"}, version=1)
    assert cleaned == {"name": "Foo", "slug": "bar"}


def test_a_derived_slug_never_exceeds_100_characters():
    # NFKD turns one character into several: U+216B (roman numeral twelve) becomes "XII".
    cleaned = validate_check_fields({"name": "\u216b" * 100}, version=2)
    assert len(cleaned["slug"]) == 100


@pytest.mark.parametrize(
    ("name", "slug"),
    [
        ("Foo", "foo"),
        ("  Hello   World  ", "hello-world"),
        ("Crème brûlée", "creme-brulee"),
        ("a--b__c", "a-b__c"),
        ("-_leading and trailing_-", "leading-and-trailing"),
        ("Backup #1 (db)!", "backup-1-db"),
        ("日本語", ""),
        ("tab\tand\nnewline", "tab-and-newline"),
        ("ﬁle", "file"),
    ],
)
def test_slugify_follows_django(name, slug):
    assert slugify(name) == slug


# --- helpers -------------------------------------------------------------------------------------


def test_tags_list_splits_on_spaces_and_drops_empties():
    assert tags_list("  foo bar  baz ") == ["foo", "bar", "baz"]
    assert tags_list("") == []


def test_unique_key_is_the_sha1_of_the_first_16_hex_digits():
    import hashlib
    import uuid

    code = uuid.UUID("b3f1c2a4-1234-4abc-9def-0123456789ab")
    assert unique_key(code) == hashlib.sha1(b"b3f1c2a412344abc").hexdigest()
    assert len(unique_key(code)) == 40


def _check(**fields: Any) -> SimpleNamespace:
    import uuid

    values: dict[str, Any] = {
        "code": uuid.UUID("b3f1c2a4-1234-4abc-9def-0123456789ab"),
        "badge_key": uuid.UUID("00000000-0000-4000-8000-000000000001"),
        "name": "Foo",
        "slug": "foo",
        "tags": "a b",
        "desc": "",
        "kind": "simple",
        "timeout": 86400,
        "grace": 3600,
        "schedule": "* * * * *",
        "tz": "UTC",
        "status": "new",
        "n_pings": 0,
        "last_ping": None,
        "last_start": None,
        "last_duration": None,
        "manual_resume": False,
        "methods": "",
        "filter_subject": False,
        "filter_body": False,
        "filter_http_body": False,
        "filter_default_fail": False,
        "start_kw": "",
        "success_kw": "",
        "failure_kw": "",
    }
    values.update(fields)
    return SimpleNamespace(**values)


SETTINGS = Settings(
    site_root="https://hc.example.org", ping_endpoint="https://hc.example.org/ping/"
)


def test_a_simple_check_read_with_the_read_write_key_has_29_keys():
    data = check_to_dict(_check(), SETTINGS, NOW, channel_codes=["b", "a"])
    assert len(data) == 29
    assert data["channels"] == "a,b"
    assert data["timeout"] == 86400
    assert "schedule" not in data
    assert (
        data["badge_url"] == "https://hc.example.org/b/2/00000000-0000-4000-8000-000000000001.svg"
    )


def test_a_cron_check_has_schedule_and_tz_instead_of_timeout():
    data = check_to_dict(_check(kind="cron", schedule="5 * * * *", tz="Europe/Riga"), SETTINGS, NOW)
    assert (data["schedule"], data["tz"]) == ("5 * * * *", "Europe/Riga")
    assert "timeout" not in data


def test_subject_fields_show_the_keywords_only_with_filter_subject():
    plain = check_to_dict(_check(success_kw="ok", failure_kw="bad"), SETTINGS, NOW)
    assert (plain["subject"], plain["subject_fail"]) == ("", "")
    filtered = check_to_dict(
        _check(success_kw="ok", failure_kw="bad", filter_subject=True), SETTINGS, NOW
    )
    assert (filtered["subject"], filtered["subject_fail"]) == ("ok", "bad")


def test_last_duration_is_whole_seconds_and_only_when_known():
    assert "last_duration" not in check_to_dict(_check(last_duration=0.0), SETTINGS, NOW)
    assert check_to_dict(_check(last_duration=12.7), SETTINGS, NOW)["last_duration"] == 12


def test_a_flip_shows_up_as_1_only_for_up():
    up = SimpleNamespace(
        created=datetime(2020, 6, 1, 12, 24, 32, 123456, tzinfo=UTC), new_status="up"
    )
    assert flip_to_dict(up) == {"timestamp": "2020-06-01T12:24:32+00:00", "up": 1}
    for status in ("down", "paused", "new"):
        assert flip_to_dict(SimpleNamespace(created=NOW, new_status=status))["up"] == 0
