"""The depth scan of portal.limits: brackets outside strings, escapes understood, no decoding."""

import json

import pytest

from portal.limits import too_deep


def nested(levels, inner="1"):
    return ("[" * levels + inner + "]" * levels).encode()


@pytest.mark.parametrize(("body", "deep"), [
    (nested(32), False),
    (nested(33), True),
    (b'{"a": ' + nested(31) + b"}", False),
    (b'{"a": ' + nested(32) + b"}", True),
    (b'{"a": {"b": {"c": [[{}]]}}}', False),
    (b"[]" * 10_000, False),  # wide, not deep
    (json.dumps({"text": "[" * 100 + "{" * 100}).encode(), False),  # brackets inside a string
    (json.dumps({"text": '\\"[[[[' * 50}).encode(), False),  # escaped quotes and backslashes
    (b'{"a": "\\\\", "b": ' + nested(33) + b"}", True),  # an escaped backslash ends its string
    (nested(1000)[:1000], True),  # unclosed: the decoder would recurse before noticing
])
def test_depth_is_counted_outside_strings(body, deep):
    assert too_deep(body, 32) is deep


def test_the_scan_agrees_with_the_decoder_on_what_it_accepts():
    body = json.dumps({"a": [{"b": [[1, "]]", {"c": '{\\"}'}]]}]}).encode()  # six levels
    json.loads(body)
    assert not too_deep(body, 6) and too_deep(body, 5)
