"""Pure logic of the Pre-Deploy Checklist settings checks (module_utils/settings_check.py)."""

from __future__ import annotations

import pytest
from ansible_collections.stratum.ops.plugins.module_utils.settings_check import (
    check_settings,
    is_placeholder,
    parse_dotenv,
    parse_origins,
    summarize,
)

GOOD = {
    "DATABASE_URL": "postgresql://stratum:db-pass-0192@db.internal:5432/stratum",
    "REDIS_URL": "redis://cache.internal:6379/0",
    "SECRET_KEY": "s" * 8 + "3f9a0c1d2e4b5a6978c0d1e2f3a4b5c6",
    "JWT_SECRET_KEY": "j" * 8 + "9e8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b",
    "PII_ENCRYPTION_KEY": "p" * 8 + "0a1b2c3d4e5f60718293a4b5c6d7e8f9",
    "CORS_ORIGINS": "https://app.stratum.ai,https://admin.stratum.ai",
    "SENTRY_DSN": "https://abc123@o1.ingest.sentry.io/42",
}


def by_name(checks):
    return {c["name"]: c for c in checks}


def failed(checks):
    return sorted(c["name"] for c in checks if c["status"] == "fail")


def test_good_settings_pass_every_check():
    checks = check_settings(GOOD)
    assert failed(checks) == []
    assert by_name(checks)["embed_signing_key"]["status"] == "skip"
    assert by_name(checks)["whatsapp_app_secret"]["status"] == "skip"


@pytest.mark.parametrize(
    "value", ["", "changeme", "CHANGE-ME", "secret", "default", "example", "your-secret-key", "<secret>", "xxxxxxxx"]
)
def test_placeholders_are_recognised(value):
    assert is_placeholder(value)


@pytest.mark.parametrize("value", ["https://app.stratum.ai", "*", "s3cr3t-but-real-and-long-enough-value"])
def test_real_values_are_not_placeholders(value):
    assert not is_placeholder(value)


def test_placeholder_default_fails_the_required_check():
    checks = by_name(check_settings({**GOOD, "REDIS_URL": "changeme"}))
    assert checks["required:REDIS_URL"]["status"] == "fail"
    assert "placeholder" in checks["required:REDIS_URL"]["reason"]


def test_missing_setting_fails_with_its_name():
    settings = dict(GOOD)
    del settings["DATABASE_URL"]
    checks = by_name(check_settings(settings))
    assert checks["required:DATABASE_URL"] == {
        "name": "required:DATABASE_URL",
        "status": "fail",
        "reason": "DATABASE_URL is not set",
    }


def test_short_secret_fails_with_its_length_not_its_value():
    checks = by_name(check_settings({**GOOD, "JWT_SECRET_KEY": "tooshort-jwt"}))
    assert checks["secret_length:JWT_SECRET_KEY"]["status"] == "fail"
    assert "12 characters" in checks["secret_length:JWT_SECRET_KEY"]["reason"]
    assert "tooshort-jwt" not in str(checks)


def test_equal_secrets_fail_naming_both():
    checks = by_name(check_settings({**GOOD, "PII_ENCRYPTION_KEY": GOOD["SECRET_KEY"]}))
    assert checks["secrets_unique"]["status"] == "fail"
    assert "SECRET_KEY and PII_ENCRYPTION_KEY" in checks["secrets_unique"]["reason"]
    assert GOOD["SECRET_KEY"] not in str(checks)


@pytest.mark.parametrize("origins", ["*", "https://app.stratum.ai,*", '["*"]', "https://*.stratum.ai"])
def test_wildcard_cors_fails_in_production(origins):
    assert by_name(check_settings({**GOOD, "CORS_ORIGINS": origins}))["cors_origins"]["status"] == "fail"


def test_wildcard_cors_passes_outside_production():
    checks = by_name(check_settings({**GOOD, "CORS_ORIGINS": "*"}, environment="staging"))
    assert checks["cors_origins"]["status"] == "pass"
    assert checks["required:CORS_ORIGINS"]["status"] == "pass"


def test_origins_parse_from_commas_spaces_and_json():
    assert parse_origins("https://a.io, https://b.io") == ["https://a.io", "https://b.io"]
    assert parse_origins('["https://a.io","https://b.io"]') == ["https://a.io", "https://b.io"]
    assert parse_origins(None) == []


def test_missing_or_malformed_sentry_dsn_fails():
    settings = dict(GOOD)
    del settings["SENTRY_DSN"]
    assert by_name(check_settings(settings))["sentry_dsn"]["status"] == "fail"
    checks = by_name(check_settings({**GOOD, "SENTRY_DSN": "not-a-dsn"}))
    assert checks["sentry_dsn"]["status"] == "fail"
    assert "not a Sentry DSN" in checks["sentry_dsn"]["reason"]


@pytest.mark.parametrize("flag", ["EMBED_WIDGETS_ENABLED", "EMBED_ENABLED", "ENABLE_EMBED_WIDGETS"])
def test_embed_enabled_without_signing_key_fails(flag):
    checks = by_name(check_settings({**GOOD, flag: "true"}))
    assert checks["embed_signing_key"]["status"] == "fail"
    assert flag in checks["embed_signing_key"]["reason"]


def test_embed_enabled_with_signing_key_passes_and_disabled_skips():
    key = "emb-" + "4f3e2d1c0b9a8f7e6d5c4b3a29180716"
    assert (
        by_name(check_settings({**GOOD, "EMBED_WIDGETS_ENABLED": "1", "EMBED_SIGNING_KEY": key}))["embed_signing_key"][
            "status"
        ]
        == "pass"
    )
    assert by_name(check_settings({**GOOD, "EMBED_WIDGETS_ENABLED": "false"}))["embed_signing_key"]["status"] == "skip"


def test_whatsapp_enabled_needs_app_secret():
    assert by_name(check_settings({**GOOD, "WHATSAPP_ENABLED": True}))["whatsapp_app_secret"]["status"] == "fail"
    checks = by_name(check_settings({**GOOD, "WHATSAPP_ENABLED": "yes", "WHATSAPP_APP_SECRET": "w" * 3 + "a9b8c7d6"}))
    assert checks["whatsapp_app_secret"]["status"] == "pass"


def test_required_list_is_configurable():
    checks = by_name(check_settings({"ONLY": "value-1"}, required=["ONLY"], unique_secrets=[]))
    assert checks["required:ONLY"]["status"] == "pass"
    assert "required:DATABASE_URL" not in checks


def test_no_value_ever_appears_in_any_reason():
    bad = {**GOOD, "SECRET_KEY": "short-secret-value", "JWT_SECRET_KEY": "short-secret-value", "EMBED_ENABLED": "on"}
    text = str(check_settings(bad)) + str(check_settings(GOOD))
    for value in [*GOOD.values(), "short-secret-value"]:
        assert value not in text


def test_dotenv_parsing():
    text = (
        "# comment\n"
        "export SECRET_KEY='abc def'\n"
        'JWT_SECRET_KEY="quoted # not a comment"\n'
        "CORS_ORIGINS=https://a.io # inline comment\n"
        "EMPTY=\n"
        "not a setting\n"
    )
    assert parse_dotenv(text) == {
        "SECRET_KEY": "abc def",
        "JWT_SECRET_KEY": "quoted # not a comment",
        "CORS_ORIGINS": "https://a.io",
        "EMPTY": "",
    }


def test_summary_counts_and_failed_names():
    summary = summarize(
        [
            {"name": "a", "status": "pass", "reason": ""},
            {"name": "b", "status": "fail", "reason": ""},
            {"name": "c", "status": "skip", "reason": ""},
        ]
    )
    assert summary == {"counts": {"pass": 1, "fail": 1, "skip": 1}, "failed": ["b"], "ok": False}
