"""stratum.ops.celery_purge against a throwaway Redis broker with real Celery tasks."""

from __future__ import annotations

from harness import servers
from harness.ansible_run import assert_clean_failure, run_module

PRIORITY_SUFFIX = "\x06\x16"


def depth(cluster, queue: str) -> int:
    """Read the depth back from Redis itself: the list plus kombu's priority sub-lists."""
    client = cluster.redis.client()
    return sum(client.llen(queue if p == 0 else f"{queue}{PRIORITY_SUFFIX}{p}") for p in (0, 3, 6, 9))


def test_purge_refused_without_allowed_queues_or_force(redis_celery):
    redis_celery.send("purge_refused", 12)

    result, _unused = run_module(
        "stratum.ops.celery_purge", {"broker_url": redis_celery.broker_url, "queue": "purge_refused"}
    )

    assert_clean_failure(result, "refusing to purge queue 'purge_refused'", "allowed_queues", "force")
    assert depth(redis_celery, "purge_refused") == 12


def test_purge_refused_when_queue_not_in_allowed_queues(redis_celery):
    redis_celery.send("purge_other", 4)

    result, _unused = run_module(
        "stratum.ops.celery_purge",
        {"broker_url": redis_celery.broker_url, "queue": "purge_other", "allowed_queues": ["reports", "thumbnails"]},
    )

    assert_clean_failure(result, "not in allowed_queues (reports, thumbnails)")
    assert depth(redis_celery, "purge_other") == 4


def test_check_mode_purges_nothing_and_reports_depth(redis_celery):
    redis_celery.send("purge_check", 6)
    redis_celery.send("purge_check", 4, priority=9)

    result, _unused = run_module(
        "stratum.ops.celery_purge",
        {"broker_url": redis_celery.broker_url, "queue": "purge_check", "allowed_queues": ["purge_check"]},
        check=True,
    )

    assert result.changed
    assert result["depth_before"] == 10 and result["purged"] == 10
    assert depth(redis_celery, "purge_check") == 10


def test_purge_allowed_queue_empties_every_priority_list_then_is_idempotent(redis_celery):
    redis_celery.send("purge_me", 7)
    redis_celery.send("purge_me", 3, priority=6)
    redis_celery.send("untouched", 2)
    args = {"broker_url": redis_celery.broker_url, "queue": "purge_me", "allowed_queues": ["purge_me"]}

    first, _unused = run_module("stratum.ops.celery_purge", args)
    second, _unused = run_module("stratum.ops.celery_purge", args)

    assert first.changed and first["depth_before"] == 10 and first["purged"] == 10
    assert depth(redis_celery, "purge_me") == 0
    assert depth(redis_celery, "untouched") == 2
    assert not second.changed and second["depth_before"] == 0 and second["purged"] == 0


def test_force_purges_a_queue_not_allowed(redis_celery):
    redis_celery.send("purge_forced", 5)

    result, _unused = run_module(
        "stratum.ops.celery_purge", {"broker_url": redis_celery.broker_url, "queue": "purge_forced", "force": True}
    )

    assert result.changed and result["purged"] == 5
    assert depth(redis_celery, "purge_forced") == 0


def test_empty_queue_is_not_changed(redis_celery):
    result, _unused = run_module(
        "stratum.ops.celery_purge", {"broker_url": redis_celery.broker_url, "queue": "never_used", "force": True}
    )

    assert result.status == "ok" and not result.changed
    assert result["depth_before"] == 0 and result["purged"] == 0


def test_purge_broker_down_fails_with_clear_msg():
    port = servers.free_port()
    result, _unused = run_module(
        "stratum.ops.celery_purge",
        {"broker_url": f"redis://127.0.0.1:{port}/0", "queue": "q", "force": True, "timeout": 0.5},
    )

    assert_clean_failure(result, "cannot reach the Redis broker")


def test_purge_password_never_in_verbose_output(redis_server_factory):
    password = "purge-secret-Lm52"
    redis = redis_server_factory(password=password)
    redis.client().lpush("secret_q", "a", "b")

    result, run = run_module(
        "stratum.ops.celery_purge", {"broker_url": redis.url, "queue": "secret_q", "force": True}, verbosity=3
    )

    assert result.changed and result["purged"] == 2
    assert password not in run.output


def test_purge_bad_inputs_fail_with_clear_msg(redis_celery, run_cases):
    cases = [
        ({"broker_url": redis_celery.broker_url, "queue": " ", "force": True}, "non-empty queue name"),
        ({"broker_url": "ftp://127.0.0.1/0", "queue": "q", "force": True}, "scheme 'ftp'"),
        ({"broker_url": redis_celery.broker_url, "queue": "q", "force": "maybe"}, "force"),
        ({"broker_url": redis_celery.broker_url}, "queue"),
    ]
    results, _unused = run_cases("stratum.ops.celery_purge", [args for args, _unused in cases])
    for result, (_unused, fragment) in zip(results, cases, strict=True):
        assert_clean_failure(result, fragment)
