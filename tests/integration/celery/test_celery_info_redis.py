"""stratum.ops.celery_info against real Celery workers on a throwaway Redis broker."""

from __future__ import annotations

from harness import servers
from harness.ansible_run import assert_clean_failure, run_module

PRIORITY_SUFFIX = "\x06\x16"


def test_backlog_depth_is_exact_including_priority_sub_queues(redis_celery):
    client = redis_celery.redis.client()
    # 40 tasks spread over kombu's four priority lists of the unconsumed queue
    for priority, count in ((0, 13), (3, 5), (6, 7), (9, 15)):
        redis_celery.send("bulk_prio", count, priority=priority)
    assert client.llen("bulk_prio") == 13, "the base list alone must hold only the priority-0 tasks"
    assert client.llen(f"bulk_prio{PRIORITY_SUFFIX}9") == 15

    result, _unused = run_module(
        "stratum.ops.celery_info",
        {
            "broker_url": redis_celery.broker_url,
            "workers": redis_celery.worker_names,
            "queues": ["bulk_prio", "default"],
            "backlog_threshold": 30,
        },
    )

    assert result.status == "ok" and not result.changed
    assert result["queues"]["bulk_prio"] == {"depth": 40, "consumers": 0, "over_threshold": True}
    assert result["queues"]["default"]["over_threshold"] is False
    assert result["queues"]["default"]["consumers"] == 2
    assert result["backlog"] == [{"queue": "bulk_prio", "depth": 40}]
    assert result["unresponsive"] == []
    assert "BACKLOG over 30: bulk_prio 40" in result["summary"]


def test_default_queues_are_every_worker_queue_plus_celery(redis_celery):
    redis_celery.send("celery", 3)

    result, _unused = run_module(
        "stratum.ops.celery_info", {"broker_url": redis_celery.broker_url, "workers": redis_celery.worker_names}
    )

    assert sorted(result["queues"]) == ["celery", "default", "emails"]
    assert result["queues"]["celery"] == {"depth": 3, "consumers": 0, "over_threshold": False}
    assert result["backlog"] == []
    assert result["summary"].startswith("2/2 workers responded; no queue over 1000")


def test_workers_report_pool_concurrency_and_queues(redis_celery):
    result, _unused = run_module(
        "stratum.ops.celery_info",
        {"broker_url": redis_celery.broker_url, "workers": redis_celery.worker_names, "queues": ["default"]},
        check=True,
    )

    assert sorted(result["workers"]) == sorted(redis_celery.worker_names)
    for record in result["workers"].values():
        assert record["responded"] is True
        assert record["pool"] == "threads"
        assert record["concurrency"] == 1
        assert record["queues"] == ["default", "emails"]
        assert isinstance(record["processed"], int)
        assert record["active"] == 0 and record["reserved"] == 0


def test_include_limits_what_is_collected(redis_celery):
    result, _unused = run_module(
        "stratum.ops.celery_info",
        {
            "broker_url": redis_celery.broker_url,
            "workers": redis_celery.worker_names,
            "queues": ["default"],
            "include": ["ping", "scheduled"],
        },
    )

    for record in result["workers"].values():
        assert record["responded"] is True
        assert record["pool"] is None and record["queues"] is None
        assert record["scheduled"] == 0


def test_stopped_worker_is_listed_unresponsive(redis_celery, celery_workers):
    gone = celery_workers(redis_celery.broker_url, "gamma", queues=["default"])
    gone.stop()

    result, _unused = run_module(
        "stratum.ops.celery_info",
        {
            "broker_url": redis_celery.broker_url,
            "workers": [*redis_celery.worker_names, gone.hostname],
            "queues": ["default"],
            "timeout": 1,
        },
    )

    assert result.status == "ok"
    assert result["unresponsive"] == [gone.hostname]
    assert result["workers"][gone.hostname]["responded"] is False
    assert result["workers"][gone.hostname]["concurrency"] is None
    assert all(result["workers"][name]["responded"] for name in redis_celery.worker_names)
    assert f"2/3 workers responded (unresponsive: {gone.hostname})" in result["summary"]


def test_broker_url_comes_from_the_environment(redis_celery):
    result, _unused = run_module(
        "stratum.ops.celery_info",
        {"queues": ["default"], "workers": redis_celery.worker_names},
        env={"CELERY_BROKER_URL": redis_celery.broker_url},
    )

    assert result.status == "ok"
    assert result["queues"]["default"]["consumers"] == 2
    assert result["unresponsive"] == []


def test_broker_down_fails_with_clear_msg():
    port = servers.free_port()
    result, _unused = run_module(
        "stratum.ops.celery_info", {"broker_url": f"redis://:pw-down-Q9@127.0.0.1:{port}/0", "timeout": 0.5}
    )

    assert_clean_failure(result, "cannot reach the Redis broker", str(port))
    assert "pw-down-Q9" not in str(result.result)


def test_broker_password_never_in_verbose_output(redis_server_factory, tmp_path):
    password = "celery-secret-Vx93"
    redis = redis_server_factory(password=password)
    worker = servers.CeleryWorker(name="secretive", broker_url=redis.url, queues=["default"], workdir=tmp_path)
    worker.start()
    try:
        ok, ok_run = run_module(
            "stratum.ops.celery_info", {"broker_url": redis.url, "workers": [worker.hostname]}, verbosity=3
        )
        bad, bad_run = run_module(
            "stratum.ops.celery_info",
            {"broker_url": redis.url.replace(password, password + "-wrong"), "queues": ["default"]},
            verbosity=3,
        )
    finally:
        worker.stop()

    assert ok.status == "ok" and ok["workers"][worker.hostname]["responded"]
    assert ok["broker"] == f"redis://:********@127.0.0.1:{redis.port}/0"
    assert_clean_failure(bad, "refused")
    for run in (ok_run, bad_run):
        assert password not in run.output


def test_missing_broker_url_fails_with_clear_msg():
    result, _unused = run_module("stratum.ops.celery_info", {"queues": ["default"]}, env={"CELERY_BROKER_URL": ""})

    assert_clean_failure(result, "broker_url")


def test_bad_inputs_fail_with_clear_msg(redis_celery, run_cases):
    url = redis_celery.broker_url
    cases = [
        ({"broker_url": "http://127.0.0.1:1/0"}, "use redis://, rediss://, amqp://"),
        ({"broker_url": "redis://127.0.0.1:notaport/0"}, "not a valid URL"),
        ({"broker_url": url, "timeout": 0}, "timeout must be more than 0"),
        ({"broker_url": url, "backlog_threshold": -1}, "backlog_threshold must be 0 or more"),
        ({"broker_url": url, "include": ["ping", "gossip"]}, "include"),
        ({"broker_url": url, "queues": [""]}, "must not contain empty names"),
    ]
    results, _unused = run_cases("stratum.ops.celery_info", [args for args, _unused in cases])
    for result, (_unused, fragment) in zip(results, cases, strict=True):
        assert_clean_failure(result, fragment)
