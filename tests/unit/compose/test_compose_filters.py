"""compose_env_unapplied: which requested variables the service's resolved compose environment does not show."""

from __future__ import annotations

import pytest
from ansible.errors import AnsibleFilterError
from ansible_collections.stratum.ops.plugins.filter.compose import compose_env_unapplied

CONFIG = {
    "services": {
        "api": {"environment": {"LOG_LEVEL": "debug", "WORKERS": "4", "EMPTY": ""}},
        "worker": {"environment": ["QUEUE=default", "FLAG"]},
        "bare": {"image": "stratum/bare"},
    }
}


def test_values_that_arrived_are_applied_and_others_are_named():
    wanted = {"LOG_LEVEL": "debug", "WORKERS": 4, "EMPTY": "", "MISSING": "x", "OTHER_VALUE": "y"}
    assert compose_env_unapplied(CONFIG, "api", wanted) == ["MISSING", "OTHER_VALUE"]


def test_a_stale_value_is_unapplied():
    assert compose_env_unapplied(CONFIG, "api", {"LOG_LEVEL": "info"}) == ["LOG_LEVEL"]


def test_unset_is_applied_only_when_the_variable_is_gone():
    assert compose_env_unapplied(CONFIG, "api", {"GONE": None}) == []
    assert compose_env_unapplied(CONFIG, "api", {"LOG_LEVEL": None}) == ["LOG_LEVEL"]


def test_list_syntax_and_a_service_without_environment():
    assert compose_env_unapplied(CONFIG, "worker", {"QUEUE": "default", "FLAG": None}) == []
    assert compose_env_unapplied(CONFIG, "bare", {"A": "1"}) == ["A"]


def test_unknown_service_is_a_clear_error():
    with pytest.raises(AnsibleFilterError, match="service 'nope' is not in the compose configuration"):
        compose_env_unapplied(CONFIG, "nope", {"A": "1"})
