"""Pure logic of plugins/module_utils/celery.py: no broker, no Ansible."""

from __future__ import annotations

import pytest
from ansible_collections.stratum.ops.plugins.module_utils import celery as mu


def test_redis_priority_keys_match_kombu_layout():
    from kombu.transport.redis import PRIORITY_STEPS, Channel

    expected = [("q" if p == 0 else f"q{Channel.sep}{p}") for p in PRIORITY_STEPS]
    assert mu.redis_priority_keys("q") == expected
    assert mu.redis_priority_keys("q") == ["q", "q\x06\x163", "q\x06\x166", "q\x06\x169"]


@pytest.mark.parametrize(
    ("url", "redacted"),
    [
        ("redis://:s3cret@host:6379/0", "redis://:********@host:6379/0"),
        ("amqp://user:p%40ss@rabbit:5672//", "amqp://user:********@rabbit:5672//"),
        ("rediss://host/1", "rediss://host/1"),
        ("redis://[::1]:6380/0", "redis://[::1]:6380/0"),
        ("redis://:pw@[::1]:6380/0", "redis://:********@[::1]:6380/0"),
    ],
)
def test_redact_url_hides_only_the_password(url, redacted):
    assert mu.redact_url(url) == redacted


def test_url_password_is_decoded_so_ansible_can_mask_it():
    assert mu.url_password("amqp://user:p%40ss@rabbit//") == "p@ss"
    assert mu.url_password("redis://host/0") is None


@pytest.mark.parametrize(
    ("url", "kind"),
    [("redis://h/0", "redis"), ("rediss://h/0", "redis"), ("amqp://u:p@h//", "amqp"), ("amqps://h//", "amqp")],
)
def test_broker_kind_by_scheme(url, kind):
    assert mu.broker_kind(url) == kind


@pytest.mark.parametrize(
    ("url", "fragment"),
    [
        ("http://h/", "scheme 'http'"),
        ("h:6379", "scheme"),
        ("redis:///0", "names no host"),
        ("redis://:pw@h:port/0", "not a valid URL"),
    ],
)
def test_broker_kind_rejects_bad_urls_without_leaking_the_password(url, fragment):
    with pytest.raises(mu.CeleryBrokerError, match=fragment) as err:
        mu.broker_kind(url)
    assert ":pw@" not in str(err.value)


def test_argument_spec_reads_env_and_hides_the_url():
    spec = mu.celery_common_argument_spec()
    assert spec["broker_url"]["no_log"] is True
    assert spec["broker_url"]["fallback"][1] == ["CELERY_BROKER_URL"]
    assert spec["timeout"] == {"type": "float", "default": 1.0}


REPLIES = {
    "ping": {"w1@h": {"ok": "pong"}, "w2@h": {"ok": "pong"}},
    "stats": {
        "w1@h": {"pool": {"implementation": "celery.concurrency.prefork:TaskPool", "max-concurrency": 8}, "total": {}},
        "w2@h": {
            "pool": {"implementation": "celery.concurrency.thread:TaskPool", "max-concurrency": 4},
            "total": {"a": 3, "b": 4},
        },
    },
    "active_queues": {"w1@h": [{"name": "default"}], "w2@h": [{"name": "default"}, {"name": "emails"}]},
    "active": {"w1@h": [{}, {}], "w2@h": []},
    "reserved": {"w1@h": [{}], "w2@h": []},
}


def test_summarize_workers_marks_expected_missing_workers_unresponsive():
    workers, unresponsive = mu.summarize_workers(REPLIES, ["w1@h", "w2@h", "w3@h"])

    assert unresponsive == ["w3@h"]
    assert workers["w1@h"] == {
        "responded": True,
        "pool": "prefork",
        "concurrency": 8,
        "processed": 0,
        "active": 2,
        "reserved": 1,
        "queues": ["default"],
    }
    assert workers["w2@h"]["pool"] == "threads" and workers["w2@h"]["processed"] == 7
    assert workers["w3@h"]["responded"] is False and workers["w3@h"]["queues"] is None


def test_default_queues_are_worker_queues_plus_celery():
    workers, _unused = mu.summarize_workers(REPLIES, None)
    assert mu.default_queues(workers) == ["celery", "default", "emails"]


def test_queue_report_counts_consumers_from_workers_on_redis_and_sorts_backlog():
    workers, _unused = mu.summarize_workers(REPLIES, None)
    depths = {
        "default": {"depth": 1001, "consumers": None},
        "emails": {"depth": 5000, "consumers": None},
        "celery": {"depth": 1000, "consumers": 3},
    }

    queues, backlog = mu.build_queue_report(depths, workers, 1000)

    assert queues["default"] == {"depth": 1001, "consumers": 2, "over_threshold": True}
    assert queues["emails"]["consumers"] == 1
    assert queues["celery"] == {"depth": 1000, "consumers": 3, "over_threshold": False}
    assert backlog == [{"queue": "emails", "depth": 5000}, {"queue": "default", "depth": 1001}]


def test_summary_names_unresponsive_workers_and_backlog():
    workers, unresponsive = mu.summarize_workers(REPLIES, ["w1@h", "w2@h", "w3@h"])
    queues, backlog = mu.build_queue_report({"bulk": {"depth": 5000, "consumers": 0}}, workers, 1000)

    summary = mu.build_summary(workers, unresponsive, queues, backlog, 1000)

    assert summary == "2/3 workers responded (unresponsive: w3@h); BACKLOG over 1000: bulk 5000, 0 consumers"


def test_summary_when_healthy_names_the_deepest_queue():
    workers, unresponsive = mu.summarize_workers(REPLIES, None)
    queues, backlog = mu.build_queue_report(
        {"default": {"depth": 12, "consumers": None}, "celery": {"depth": 0, "consumers": None}}, workers, 1000
    )

    assert mu.build_summary(workers, unresponsive, queues, backlog, 1000) == (
        "2/2 workers responded; no queue over 1000 (deepest: default 12)"
    )


@pytest.mark.parametrize(
    ("queue", "allowed", "force", "fragment"),
    [
        ("bulk", [], False, "list it in allowed_queues"),
        ("bulk", ["reports"], False, "not in allowed_queues (reports)"),
        ("", [], True, "non-empty"),
    ],
)
def test_purge_refusal_says_why(queue, allowed, force, fragment):
    assert fragment in mu.purge_refusal(queue, allowed, force)


@pytest.mark.parametrize(("allowed", "force"), [(["bulk"], False), ([], True), (["x"], True)])
def test_purge_allowed_by_list_or_force(allowed, force):
    assert mu.purge_refusal("bulk", allowed, force) is None
