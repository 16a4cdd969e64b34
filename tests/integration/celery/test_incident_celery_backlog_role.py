"""playbooks/incident_celery_backlog.yml with real workers: triage by default, purge only when allowed."""

from __future__ import annotations

from harness.ansible_run import REPO, run_playbook

PLAYBOOK = REPO / "playbooks" / "incident_celery_backlog.yml"


def role_vars(cluster, **extra):
    return {
        "incident_celery_backlog_broker_url": cluster.broker_url,
        "incident_celery_backlog_workers": cluster.worker_names,
        "incident_celery_backlog_queues": ["role_bulk", "default"],
        "incident_celery_backlog_threshold": 10,
        **extra,
    }


def depth(cluster, queue: str) -> int:
    client = cluster.redis.client()
    return sum(client.llen(queue if p == 0 else f"{queue}\x06\x16{p}") for p in (0, 3, 6, 9))


def test_triage_only_reports_backlog_and_changes_nothing(redis_celery):
    redis_celery.send("role_bulk", 15)

    run = run_playbook(PLAYBOOK, extra_vars=role_vars(redis_celery))

    assert run.rc == 0, run.output[-3000:]
    report = run.custom_stats["_run"]["incident_celery_backlog_report"]
    assert report["backlog"] == [{"queue": "role_bulk", "depth": 15}]
    assert int(report["workers_responded"]) == 2 and report["unresponsive"] == []
    assert report["purged"] == {} and report["actions"] == []
    assert not any(task.changed for task in run.tasks)
    assert "Triage only: no action requested" in run.output
    assert depth(redis_celery, "role_bulk") == 15


def test_purge_of_a_queue_not_allowed_is_refused_before_any_change(redis_celery):
    redis_celery.send("role_refused", 5)

    run = run_playbook(
        PLAYBOOK,
        extra_vars=role_vars(
            redis_celery,
            incident_celery_backlog_actions=["purge_queue"],
            incident_celery_backlog_purge_queue="role_refused",
            incident_celery_backlog_allowed_purge_queues=["reports"],
        ),
    )

    assert run.rc != 0
    failed = run.failed_tasks()
    assert failed and "allowed_purge_queues" in failed[0].get("msg", "")
    assert depth(redis_celery, "role_refused") == 5


def test_purge_in_check_mode_reports_what_it_would_drop(redis_celery):
    redis_celery.send("role_purge", 8)
    extra = role_vars(
        redis_celery,
        incident_celery_backlog_queues=["role_purge"],
        incident_celery_backlog_actions=["purge_queue"],
        incident_celery_backlog_purge_queue="role_purge",
        incident_celery_backlog_allowed_purge_queues=["role_purge"],
    )

    checked = run_playbook(PLAYBOOK, extra_vars=extra, check=True)
    depth_after_check = depth(redis_celery, "role_purge")
    purged = run_playbook(PLAYBOOK, extra_vars=extra)

    assert checked.rc == 0, checked.output[-3000:]
    assert checked.custom_stats["_run"]["incident_celery_backlog_report"]["purged"]["purged"] == 8
    assert depth_after_check == 8
    assert purged.rc == 0, purged.output[-3000:]
    assert purged.custom_stats["_run"]["incident_celery_backlog_report"]["purged"] == {
        "queue": "role_purge",
        "depth_before": 8,
        "purged": 8,
    }
    assert depth(redis_celery, "role_purge") == 0
