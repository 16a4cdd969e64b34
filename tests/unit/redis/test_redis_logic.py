"""Pure logic of plugins/module_utils/redis.py: pattern guardrails, input checks, URL handling, prefixes."""

from __future__ import annotations

import pytest
from ansible_collections.stratum.ops.plugins.module_utils.redis import (
    RedisModuleError,
    broad_pattern_reason,
    connection_kwargs,
    describe_endpoint,
    display_name,
    glob_escape,
    key_prefix,
    literal_prefix,
    validate_cleanup_options,
)


@pytest.mark.parametrize(
    ("pattern", "prefix"),
    [
        ("cache:analytics:*", "cache:analytics:"),
        ("abc?def", "abc"),
        ("ab[cd]*", "ab"),
        (r"a\*b*", "a*b"),
        ("*", ""),
        ("plain", "plain"),
    ],
)
def test_literal_prefix_stops_at_the_first_wildcard_and_honours_escapes(pattern, prefix):
    assert literal_prefix(pattern) == prefix


@pytest.mark.parametrize("pattern", ["*", "**", "?*", "*?*", "ab*", "[a-z]*", "c?che:*", r"\**"])
def test_patterns_that_can_match_unrelated_namespaces_are_broad(pattern):
    assert broad_pattern_reason(pattern) is not None


@pytest.mark.parametrize("pattern", ["cache:*", "abc*", "session:legacy:*", "tmp?x", r"\*\*\**"])
def test_patterns_with_a_three_character_literal_prefix_are_narrow(pattern):
    assert broad_pattern_reason(pattern) is None


def _validate(**overrides):
    args = dict(
        pattern="cache:*",
        action="unlink",
        ttl=None,
        batch_size=1000,
        scan_count=1000,
        max_keys=None,
        pause_ms=0,
        allow_broad_pattern=False,
    )
    args.update(overrides)
    validate_cleanup_options(**args)


@pytest.mark.parametrize(
    ("overrides", "fragment"),
    [
        ({"pattern": ""}, "pattern must not be empty"),
        ({"action": "expire"}, "ttl"),
        ({"action": "expire", "ttl": 0}, "ttl must be > 0"),
        ({"action": "expire", "ttl": -5}, "ttl must be > 0"),
        ({"ttl": 60}, "only used with action=expire"),
        ({"batch_size": 0}, "batch_size must be >= 1"),
        ({"scan_count": 0}, "scan_count must be >= 1"),
        ({"max_keys": 0}, "max_keys must be >= 1"),
        ({"pause_ms": -1}, "pause_ms must be >= 0"),
        ({"pattern": "*"}, "allow_broad_pattern"),
    ],
)
def test_bad_cleanup_inputs_are_refused_with_the_reason(overrides, fragment):
    with pytest.raises(RedisModuleError, match=fragment):
        _validate(**overrides)


def test_broad_pattern_is_accepted_when_explicitly_allowed():
    _validate(pattern="*", allow_broad_pattern=True)


def test_url_credentials_are_overridden_by_explicit_options_and_db_comes_from_the_path():
    kwargs = connection_kwargs({"url": "redis://olduser:oldpw@redis.internal:6380/3", "password": "newpw", "db": 0})
    assert (kwargs["host"], kwargs["port"], kwargs["db"]) == ("redis.internal", 6380, 3)
    assert (kwargs["username"], kwargs["password"]) == ("olduser", "newpw")
    assert describe_endpoint(kwargs) == "redis.internal:6380/3"


def test_rediss_url_turns_on_tls_and_validate_certs_false_skips_verification():
    kwargs = connection_kwargs({"url": "rediss://cache.internal:6379", "db": 2, "validate_certs": False})
    assert kwargs["ssl"] is True
    assert kwargs["ssl_cert_reqs"] == "none"
    assert kwargs["db"] == 2


def test_host_options_are_used_without_url():
    kwargs = connection_kwargs({"host": "10.0.0.5", "port": 7000, "db": 1, "tls": True, "ca_certs": "/ca.pem"})
    assert (kwargs["host"], kwargs["port"], kwargs["db"], kwargs["ssl"]) == ("10.0.0.5", 7000, 1, True)
    assert kwargs["ssl_ca_certs"] == "/ca.pem"


def test_non_redis_url_is_refused():
    with pytest.raises(RedisModuleError, match="redis://"):
        connection_kwargs({"url": "http://redis.internal"})


@pytest.mark.parametrize(
    ("name", "depth", "prefix"),
    [
        (b"cache:analytics:123", 2, b"cache:analytics"),
        (b"cache:analytics:123", 1, b"cache"),
        (b"session:abc", 2, b"session"),
        (b"plainkey", 2, b""),
        (b"a:b:c:d", 3, b"a:b:c"),
    ],
)
def test_prefix_groups_by_leading_parts_but_never_the_last_part(name, depth, prefix):
    assert key_prefix(name, b":", depth) == prefix


def test_non_utf8_names_are_shown_with_backslash_escapes():
    assert display_name(b"bin\xff\x00") == "bin\\xff\x00"
    assert display_name("caf\u00e9".encode()) == "caf\u00e9"


def test_glob_escape_makes_wildcards_literal():
    assert glob_escape("a*b?[c]") == r"a\*b\?\[c\]"
