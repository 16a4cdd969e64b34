"""incident_celery_backlog with no worker consuming: "0/0 workers responded" is reported as critical."""

from __future__ import annotations

from harness.ansible_run import REPO, run_playbook

PLAYBOOK = REPO / "playbooks" / "incident_celery_backlog.yml"


def test_zero_responding_workers_are_critical(redis_server):
    broker = redis_server.url.rsplit("/", 1)[0] + "/3"
    run = run_playbook(
        PLAYBOOK,
        extra_vars={
            "incident_celery_backlog_broker_url": broker,
            "incident_celery_backlog_workers": [],
            "incident_celery_backlog_queues": ["default"],
            "incident_celery_backlog_timeout": 1,
        },
    )
    assert run.rc == 0, run.output[-3000:]
    report = run.custom_stats["_run"]["incident_celery_backlog_report"]
    assert report["workers_status"]["severity"] == "critical"
    assert (report["workers_status"]["responded"], report["workers_status"]["total"]) == (0, 0)
    assert report["summary"].startswith("CRITICAL: no Celery worker responded (0/0)")
