"""Pure logic of secret ages: which secrets are due for rotation."""

from __future__ import annotations

import datetime

from ansible_collections.stratum.ops.plugins.module_utils.secretsmanager import secret_age_facts

NOW = datetime.datetime(2026, 11, 27, 12, 0, tzinfo=datetime.UTC)


def days_ago(days: float) -> datetime.datetime:
    return NOW - datetime.timedelta(days=days)


def test_age_counts_from_the_latest_change():
    facts = secret_age_facts(
        "jwt",
        {"Name": "jwt", "CreatedDate": days_ago(400), "LastChangedDate": days_ago(10)},
        NOW,
        max_age_days=90,
    )
    assert facts["age_days"] == 10
    assert facts["due"] is False
    assert "within 90" in facts["reason"]


def test_old_value_is_due():
    facts = secret_age_facts("jwt", {"Name": "jwt", "CreatedDate": days_ago(120)}, NOW, max_age_days=90)
    assert facts["due"] is True
    assert facts["reason"] == "value is 120 days old (max 90)"


def test_rotation_by_secrets_manager_counts_as_a_change():
    described = {"CreatedDate": days_ago(300), "LastChangedDate": days_ago(200), "LastRotatedDate": days_ago(5)}
    assert secret_age_facts("k", described, NOW, 90)["due"] is False


def test_missing_and_deleted_secrets_are_never_due():
    assert secret_age_facts("k", None, NOW, 90) == {
        "name": "k",
        "exists": False,
        "due": False,
        "age_days": None,
        "reason": "secret does not exist",
    }
    deleted = secret_age_facts("k", {"CreatedDate": days_ago(500), "DeletedDate": days_ago(1)}, NOW, 90)
    assert deleted["due"] is False and deleted["reason"] == "scheduled for deletion"


def test_naive_and_epoch_dates_are_read_as_utc():
    naive = secret_age_facts("k", {"CreatedDate": days_ago(91).replace(tzinfo=None)}, NOW, 90)
    epoch = secret_age_facts("k", {"CreatedDate": days_ago(91).timestamp()}, NOW, 90)
    assert naive["age_days"] == epoch["age_days"] == 91
