"""Badge signatures, URLs, status aggregation and the svg / shields outputs (reference §4)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import xml.etree.ElementTree as ET

import pytest

from app.domain import badges
from app.domain.badges import BadgeState

SECRET = "test-secret-key"
SVG_NS = "{http://www.w3.org/2000/svg}"

# The reference's table (§4.4), verbatim.
REFERENCE_WIDTHS = (
    "a7 b7 c6 d7 e6 f4 g7 h7 i3 j3 k7 l3 m10 n7 o7 p7 q7 r4 s6 t5 u7 v7 w9 x6 y7 z7 "
    "07 16 27 37 47 57 67 77 87 97 "
    "A8 B7 C8 D8 E7 F6 G9 H8 I3 J4 K7 L6 M10 N8 O9 P6 Q9 R7 S7 T7 U8 V8 W11 X7 Y7 Z7 "
    "-4 _6"
)


def django_base64_hmac(salt: str, value: str, key: str) -> str:
    """Django's signing.base64_hmac, written out from its documentation."""
    derived = hashlib.sha1((salt + key).encode()).digest()
    mac = hmac.new(derived, value.encode(), hashlib.sha1).digest()
    return base64.urlsafe_b64encode(mac).strip(b"=").decode()


class TestSignature:
    def test_it_is_the_first_8_chars_of_djangos_base64_hmac(self) -> None:
        for badge_key, tag in [("alice", "foo"), ("8c1b2f0e-aaaa", "*"), ("k", "db@dc1")]:
            expected = django_base64_hmac(badge_key, tag, SECRET)[:8]
            assert badges.sign(badge_key, tag, SECRET) == expected

    @pytest.mark.parametrize(
        ("badge_key", "tag", "secret", "full"),
        [
            # Computed with Django's own django.core.signing.base64_hmac (Django 5.2).
            ("alice", "foo", "secret", "y51bNUZWkrUWhPhqoYVYHbdu09k"),
            ("alice", "db@dc1", SECRET, "YfXXyYl_j7rWt7-sRPJ8rQgu97U"),
        ],
    )
    def test_it_matches_djangos_output(
        self, badge_key: str, tag: str, secret: str, full: str
    ) -> None:
        assert badges.sign(badge_key, tag, secret) == full[:8]

    def test_an_8_char_signature_means_three_states(self) -> None:
        sig = badges.sign("alice", "foo", SECRET)
        assert badges.verify("alice", "foo", sig, SECRET) == badges.Signature(True, True)

    def test_a_dash_2_suffix_means_two_states(self) -> None:
        sig = badges.sign("alice", "foo", SECRET) + "-2"
        assert badges.verify("alice", "foo", sig, SECRET) == badges.Signature(True, False)

    def test_only_the_first_8_chars_are_compared(self) -> None:
        sig = badges.sign("alice", "foo", SECRET)
        assert badges.verify("alice", "foo", sig + "-3", SECRET) == badges.Signature(True, True)
        assert badges.verify("alice", "foo", sig + "xyz-2", SECRET).valid

    @pytest.mark.parametrize(
        ("badge_key", "tag", "secret"),
        [("bob", "foo", SECRET), ("alice", "bar", SECRET), ("alice", "foo", "other-secret")],
    )
    def test_a_signature_is_bound_to_the_key_the_tag_and_the_secret(
        self, badge_key: str, tag: str, secret: str
    ) -> None:
        sig = badges.sign("alice", "foo", SECRET)
        assert not badges.verify(badge_key, tag, sig, secret).valid

    def test_a_short_signature_is_refused(self) -> None:
        sig = badges.sign("alice", "foo", SECRET)
        assert not badges.verify("alice", "foo", sig[:7], SECRET).valid
        assert not badges.verify("alice", "foo", "", SECRET).valid


class TestUrls:
    @pytest.mark.parametrize(
        ("tag", "in_url"),
        [
            ("foo", "foo"),
            ("db@dc1", "db%2540dc1"),
            ("a/b c", "a%252Fb%2520c"),
            ("ok_.-~", "ok_.-~"),
            ("ā", "%25C4%2581"),
        ],
    )
    def test_a_tag_is_percent_encoded_twice(self, tag: str, in_url: str) -> None:
        assert badges.url_tag(tag) == in_url

    def test_a_tag_badge_url_names_the_key_the_signature_and_the_tag(self) -> None:
        sig = badges.sign("alice", "db@dc1", SECRET)
        url = badges.badge_url(
            "https://hc.example", "alice", "db@dc1", SECRET, fmt="json", with_late=True
        )
        assert url == f"https://hc.example/badge/alice/{sig}/db%2540dc1.json"

    def test_a_two_state_url_has_the_dash_2_signature(self) -> None:
        sig = badges.sign("alice", "foo", SECRET)
        url = badges.badge_url("https://x", "alice", "foo", SECRET, fmt="svg", with_late=False)
        assert url == f"https://x/badge/alice/{sig}-2/foo.svg"

    def test_the_all_checks_badge_url_has_no_tag_segment(self) -> None:
        sig = badges.sign("alice", "*", SECRET)
        url = badges.badge_url("https://x", "alice", "*", SECRET, fmt="shields", with_late=False)
        assert url == f"https://x/badge/alice/{sig}-2.shields"

    def test_the_badges_api_lists_six_urls_per_tag(self) -> None:
        sig = badges.sign("alice", "foo", SECRET)
        assert badges.badge_urls("https://x", "alice", "foo", SECRET) == {
            "svg": f"https://x/badge/alice/{sig}-2/foo.svg",
            "svg3": f"https://x/badge/alice/{sig}/foo.svg",
            "json": f"https://x/badge/alice/{sig}-2/foo.json",
            "json3": f"https://x/badge/alice/{sig}/foo.json",
            "shields": f"https://x/badge/alice/{sig}-2/foo.shields",
            "shields3": f"https://x/badge/alice/{sig}/foo.shields",
        }


class TestAggregation:
    def test_no_checks_is_up(self) -> None:
        assert badges.aggregate([], with_late=True) == BadgeState("up", 0, 0, 0)

    @pytest.mark.parametrize("status", ["new", "paused", "up"])
    def test_new_paused_and_up_checks_are_up(self, status: str) -> None:
        assert badges.aggregate([status], with_late=True) == BadgeState("up", 1, 0, 0)

    def test_a_check_in_grace_is_late_with_three_states(self) -> None:
        assert badges.aggregate(["up", "grace"], with_late=True) == BadgeState("late", 2, 1, 0)

    def test_a_check_in_grace_is_up_with_two_states_but_counted(self) -> None:
        assert badges.aggregate(["up", "grace"], with_late=False) == BadgeState("up", 2, 1, 0)

    @pytest.mark.parametrize("with_late", [True, False])
    def test_any_check_down_makes_the_badge_down(self, with_late: bool) -> None:
        statuses = ["grace", "down", "up", "down"]
        assert badges.aggregate(statuses, with_late=with_late) == BadgeState("down", 4, 1, 2)

    def test_the_json_output_has_status_and_counts(self) -> None:
        assert BadgeState("late", 3, 1, 0).as_json() == {
            "status": "late",
            "total": 3,
            "grace": 1,
            "down": 0,
        }


class TestShields:
    @pytest.mark.parametrize(
        ("status", "color"), [("up", "success"), ("late", "important"), ("down", "critical")]
    )
    def test_it_is_shields_endpoint_json(self, status: str, color: str) -> None:
        assert badges.shields("foo", BadgeState(status, 1, 0, 0)) == {
            "schemaVersion": 1,
            "label": "foo",
            "message": status,
            "color": color,
        }


class TestWidths:
    def test_every_char_has_the_reference_width(self) -> None:
        for entry in REFERENCE_WIDTHS.split():
            char, width = entry[0], int(entry[1:])
            assert badges.text_width(char) == width, char

    @pytest.mark.parametrize("char", ["@", " ", ".", "ā", "€", "%"])
    def test_any_other_char_is_7_px(self, char: str) -> None:
        assert badges.text_width(char) == 7

    def test_a_text_is_the_sum_of_its_chars(self) -> None:
        assert badges.text_width("up") == 14
        assert badges.text_width("late") == 21
        assert badges.text_width("down") == 30
        assert badges.text_width("Cronbeat") == 8 + 4 + 7 + 7 + 7 + 6 + 7 + 5


def parse_svg(label: str, status: str) -> ET.Element:
    return ET.fromstring(badges.svg(label, status))


class TestSvg:
    def test_it_is_two_rects_sized_by_the_text_widths(self) -> None:
        root = parse_svg("foo", "up")  # foo: 4+7+7 = 18 → 28; up: 14 → 24
        assert root.tag == f"{SVG_NS}svg"
        assert (root.get("width"), root.get("height")) == ("52", "20")
        label_rect, status_rect, overlay = root.findall(f"{SVG_NS}g/{SVG_NS}rect")
        assert (label_rect.get("width"), label_rect.get("fill")) == ("28", "#555")
        assert status_rect.attrib == {"x": "28", "width": "24", "height": "20", "fill": "#4c1"}
        assert (overlay.get("width"), overlay.get("fill")) == ("52", "url(#smooth)")

    @pytest.mark.parametrize(
        ("status", "color"), [("up", "#4c1"), ("late", "#fe7d37"), ("down", "#e05d44")]
    )
    def test_the_status_half_has_the_status_colour(self, status: str, color: str) -> None:
        root = parse_svg("foo", status)
        status_rect = root.findall(f"{SVG_NS}g/{SVG_NS}rect")[1]
        assert status_rect.get("fill") == color

    def test_texts_are_centred_with_a_decimal_dot_and_shadowed(self) -> None:
        root = parse_svg("db", "late")  # db: 14 → 24; late: 21 → 31
        texts = root.findall(f"{SVG_NS}g/{SVG_NS}text")
        assert [(t.get("x"), t.get("y"), t.text) for t in texts] == [
            ("12.0", "15", "db"),
            ("12.0", "14", "db"),
            ("39.5", "15", "late"),
            ("39.5", "14", "late"),
        ]
        shadow, main = texts[0], texts[1]
        assert (shadow.get("fill"), shadow.get("fill-opacity")) == ("#010101", ".3")
        assert main.get("fill") is None  # inherits white from its group
        group = root.findall(f"{SVG_NS}g")[1]
        assert group.get("fill") == "#fff"
        assert group.get("font-size") == "11"
        assert group.get("font-family") == "Verdana,Geneva,DejaVu Sans,sans-serif"

    def test_the_corners_are_rounded_and_the_gradient_is_subtle(self) -> None:
        root = parse_svg("foo", "up")
        mask_rect = root.find(f"{SVG_NS}mask/{SVG_NS}rect")
        assert mask_rect is not None
        assert mask_rect.get("rx") == "3"
        stops = root.findall(f"{SVG_NS}linearGradient/{SVG_NS}stop")
        assert [s.attrib for s in stops] == [
            {"offset": "0", "stop-color": "#bbb", "stop-opacity": ".1"},
            {"offset": "1", "stop-opacity": ".1"},
        ]

    def test_the_label_is_escaped(self) -> None:
        label = 'a<b>&"c'
        root = parse_svg(label, "up")
        texts = root.findall(f"{SVG_NS}g/{SVG_NS}text")
        assert texts[0].text == label
        label_rect = root.findall(f"{SVG_NS}g/{SVG_NS}rect")[0]
        assert label_rect.get("width") == str(badges.text_width(label) + 10)
