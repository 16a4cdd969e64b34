"""roles/platform on Docker Compose, against the fake docker CLI (tests/compose_double/docker)."""

from __future__ import annotations

from compose_platform import failure, platform, services

SECRET_VALUE = "compose-s3cr3t-token"


def test_status_reports_running_tag(compose):
    result, run = platform(compose, "status")
    assert run.rc == 0, run.output[-3000:]
    assert (result["state"], result["version"], result["image"]) == ("running", "1.0.0", "stratum/api:1.0.0")
    assert (result["ready"], result["desired"], result["changed"]) == (1, 1, False)


def test_deploy_pulls_recreates_records_previous_and_is_idempotent(compose):
    result, run = platform(compose, "deploy", platform_version="1.1.0")
    assert run.rc == 0, run.output[-3000:]
    assert (result["changed"], result["state"], result["version"]) == (True, "running", "1.1.0")
    assert (result["previous_version"], result["image"]) == ("1.0.0", "stratum/api:1.1.0")
    assert "STRATUM_API_TAG=1.1.0" in compose.dotenv()
    assert [c["image"] for c in compose.containers()] == ["stratum/api:1.1.0"]
    assert any("pull" in call for call in compose.calls())
    assert any("--wait" in call and "up" in call for call in compose.calls())

    again, run = platform(compose, "deploy", platform_version="1.1.0")
    assert run.rc == 0, run.output[-3000:]
    assert again["changed"] is False


def test_deploy_check_mode_changes_nothing(compose):
    before = compose.containers()
    result, run = platform(compose, "deploy", check=True, platform_version="2.0.0")
    assert run.rc == 0, run.output[-3000:]
    assert result["changed"] is True
    assert "STRATUM_API_TAG=1.0.0" in compose.dotenv()
    assert compose.containers() == before
    assert not (compose.dir / ".stratum-platform.json").exists()


def test_unhealthy_deploy_fails_with_reason_then_rollback_returns_to_recorded_tag(compose):
    _dummy, run = platform(compose, "deploy", platform_version="1.2.0-broken")
    assert run.rc != 0
    msg = failure(run)
    assert "api deploy failed on compose" in msg
    assert "unhealthy" in msg

    result, run = platform(compose, "rollback")
    assert run.rc == 0, run.output[-3000:]
    assert (result["from_version"], result["to_version"], result["state"]) == ("1.2.0-broken", "1.0.0", "running")
    assert [c["image"] for c in compose.containers()] == ["stratum/api:1.0.0"]


def test_rollback_to_given_tag_check_mode_and_idempotence(compose):
    platform(compose, "deploy", platform_version="1.1.0")
    result, run = platform(compose, "rollback", check=True, platform_to_revision="0.9.0")
    assert run.rc == 0, run.output[-3000:]
    assert (result["changed"], result["to_revision"]) == (True, "0.9.0")
    assert "STRATUM_API_TAG=1.1.0" in compose.dotenv()

    result, run = platform(compose, "rollback", platform_to_revision="0.9.0")
    assert run.rc == 0, run.output[-3000:]
    assert (result["from_revision"], result["revision"]) == ("1.1.0", "0.9.0")
    again, run = platform(compose, "rollback", platform_to_revision="0.9.0")
    assert again["changed"] is False


def test_rollback_without_history_is_a_clear_failure(compose):
    _dummy, run = platform(compose, "rollback")
    assert "no previous version recorded" in failure(run)


def test_restart_and_scale(compose):
    result, run = platform(compose, "restart")
    assert run.rc == 0, run.output[-3000:]
    assert (result["changed"], result["state"]) == (True, "running")
    assert any("restart" in call for call in compose.calls())

    result, run = platform(compose, "scale", platform_replicas=3)
    assert run.rc == 0, run.output[-3000:]
    assert (result["changed"], result["desired"], result["ready"]) == (True, 3, 3)
    assert len(compose.containers()) == 3
    again, run = platform(compose, "scale", platform_replicas=3)
    assert again["changed"] is False

    # a later deploy keeps the recorded size
    result, run = platform(compose, "deploy", platform_version="1.1.0")
    assert run.rc == 0, run.output[-3000:]
    assert len(compose.containers()) == 3


def test_scale_check_mode_and_autoscaler_bounds(compose):
    result, run = platform(compose, "scale", check=True, platform_replicas=4)
    assert run.rc == 0, run.output[-3000:]
    assert result["changed"] is True
    assert len(compose.containers()) == 1
    _dummy, run = platform(compose, "scale", platform_replicas=2, platform_max_replicas=5)
    assert "Compose has no autoscaler" in failure(run)


def test_set_env_and_config_keep_values_secret(compose):
    result, run = platform(
        compose, "set_env", verbosity=3, platform_env={"LOG_LEVEL": "debug", "API_TOKEN": SECRET_VALUE}
    )
    assert run.rc == 0, run.output[-3000:]
    assert (result["changed"], result["changed_keys"]) == (True, ["API_TOKEN", "LOG_LEVEL"])
    assert SECRET_VALUE not in run.output
    assert (compose.dir / "api.env").read_text() == f"LOG_LEVEL=debug\nAPI_TOKEN={SECRET_VALUE}\n"
    assert len({c["config_hash"] for c in compose.containers()}) == 1

    again, run = platform(compose, "set_env", platform_env={"LOG_LEVEL": "debug", "API_TOKEN": SECRET_VALUE})
    assert again["changed"] is False
    result, run = platform(compose, "set_env", check=True, platform_env={"API_TOKEN": None})
    assert (result["changed"], result["changed_keys"]) == (True, ["API_TOKEN"])
    assert SECRET_VALUE in (compose.dir / "api.env").read_text()

    result, run = platform(compose, "config", verbosity=3)
    assert run.rc == 0, run.output[-3000:]
    assert result["names"] == ["API_TOKEN", "LOG_LEVEL"]
    assert SECRET_VALUE not in run.output


def test_set_env_into_a_file_the_service_does_not_load_fails_instead_of_reporting_a_change(compose):
    # workers has no env_file: the project's .env only fills ${...} in the compose file.
    before = [c["id"] for c in compose.containers("workers")]
    _dummy, run = platform(compose, "set_env", platform_service="workers", platform_env={"WORKER_CONCURRENCY": "8"})
    msg = failure(run)
    assert "service workers does not get WORKER_CONCURRENCY from it" in msg and ".env" in msg, msg
    assert [c["id"] for c in compose.containers("workers")] == before

    # The line is in .env now; a rerun must not call that success.
    _dummy, run = platform(compose, "set_env", platform_service="workers", platform_env={"WORKER_CONCURRENCY": "8"})
    assert "does not get WORKER_CONCURRENCY" in failure(run)


def test_wrong_project_or_service_gives_clear_message(compose):
    _dummy, run = platform(compose, "status", stratum_services=services("/nonexistent/stratum"))
    assert "project directory /nonexistent/stratum does not exist" in failure(run)
    bad = services(str(compose.dir))
    bad["api"]["compose"]["service"] = "apx"
    _dummy, run = platform(compose, "deploy", platform_version="1.1.0", stratum_services=bad)
    assert "no such service: apx" in failure(run)
