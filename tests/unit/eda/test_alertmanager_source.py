"""extensions/eda/plugins/event_source/alertmanager.py, run the way ansible-rulebook runs it:
main(queue, args) serving on a free port, real HTTP POSTs of Alertmanager's webhook payload.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib.util
import socket
from pathlib import Path

import aiohttp
import pytest

REPO = Path(__file__).resolve().parents[3]
_spec = importlib.util.spec_from_file_location(
    "stratum_alertmanager_source", REPO / "extensions/eda/plugins/event_source/alertmanager.py"
)
source = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(source)

# What Alertmanager 0.25 (Debian's) sends to a webhook_configs receiver, two alerts in one group.
NOTIFICATION = {
    "version": "4",
    "groupKey": '{}:{alertname="RedisMemoryHigh"}',
    "truncatedAlerts": 0,
    "status": "firing",
    "receiver": "eda",
    "groupLabels": {"alertname": "RedisMemoryHigh"},
    "commonLabels": {"alertname": "RedisMemoryHigh", "service": "redis"},
    "commonAnnotations": {},
    "externalURL": "http://alertmanager:9093",
    "alerts": [
        {
            "status": "firing",
            "labels": {"alertname": "RedisMemoryHigh", "service": "redis", "instance": "10.0.0.5:9121"},
            "annotations": {"summary": "Redis 10.0.0.5:9121 at 85% of maxmemory"},
            "startsAt": "2026-12-01T04:00:00Z",
            "endsAt": "0001-01-01T00:00:00Z",
            "generatorURL": "http://prometheus:9090/graph",
            "fingerprint": "a1",
        },
        {
            "status": "resolved",
            "labels": {"alertname": "RedisMemoryHigh", "service": "redis", "instance": "redis-b"},
            "annotations": {},
            "startsAt": "2026-12-01T03:00:00Z",
            "endsAt": "2026-12-01T03:30:00Z",
            "fingerprint": "b2",
        },
    ],
}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


async def _serve_and_post(args: dict, requests: list[tuple[str, str, object]]) -> tuple[list, list]:
    """Start main(queue, args), send the requests, return (responses, events queued)."""
    queue: asyncio.Queue = asyncio.Queue()
    task = asyncio.create_task(source.main(queue, args))
    base = f"http://127.0.0.1:{args['port']}"
    responses = []
    try:
        async with aiohttp.ClientSession() as session:
            for _attempt in range(100):  # until it listens
                with contextlib.suppress(aiohttp.ClientConnectionError):
                    async with session.get(base + "/") as resp:
                        assert await resp.text() == "up"
                        break
                await asyncio.sleep(0.02)
            for method, path, body in requests:
                kwargs = {"json": body} if not isinstance(body, str) else {"data": body}
                async with session.request(method, base + path, **kwargs) as resp:
                    responses.append((resp.status, await resp.text()))
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    events = []
    while not queue.empty():
        events.append(queue.get_nowait())
    return responses, events


def test_one_event_per_alert_with_labels_annotations_status_and_hosts():
    args = {"host": "127.0.0.1", "port": _free_port()}
    responses, events = asyncio.run(_serve_and_post(args, [("POST", "/", NOTIFICATION)]))
    assert responses == [(202, "2 alert(s) received")]
    assert [e["alert"]["status"] for e in events] == ["firing", "resolved"]
    first = events[0]
    assert first["alert"]["labels"] == NOTIFICATION["alerts"][0]["labels"]
    assert first["alert"]["annotations"]["summary"].startswith("Redis 10.0.0.5")
    assert first["alert"]["fingerprint"] == "a1"
    assert first["meta"] == {
        "endpoint": "",
        "hosts": ["10.0.0.5"],
        "receiver": "eda",
        "group_key": NOTIFICATION["groupKey"],
    }
    assert events[1]["meta"]["hosts"] == ["redis-b"]


def test_any_path_is_accepted_and_host_label_can_be_switched_off():
    args = {"host": "127.0.0.1", "port": str(_free_port()), "host_label": ""}  # a port from a template is a str
    responses, events = asyncio.run(_serve_and_post(args, [("POST", "/endpoint/alerts", NOTIFICATION)]))
    assert responses[0][0] == 202
    assert [e["meta"]["endpoint"] for e in events] == ["endpoint/alerts"] * 2
    assert all(e["meta"]["hosts"] == [] for e in events)


def test_what_is_not_a_notification_is_refused_and_nothing_queued():
    args = {"host": "127.0.0.1", "port": _free_port()}
    bad = [
        ("POST", "/", "{not json"),
        ("POST", "/", {"status": "firing"}),
        ("POST", "/", {"alerts": [{"status": "firing"}]}),
    ]
    responses, events = asyncio.run(_serve_and_post(args, bad))
    assert [status for status, _text in responses] == [400, 400, 400]
    assert "no 'alerts' list" in responses[1][1] and "without labels" in responses[2][1]
    assert events == []


def test_an_alert_without_status_or_annotations_takes_the_notifications():
    events = source.events_from({"status": "resolved", "alerts": [{"labels": {"alertname": "X"}}]}, "", "instance")
    assert events == [
        {
            "alert": {"labels": {"alertname": "X"}, "annotations": {}, "status": "resolved"},
            "meta": {"endpoint": "", "hosts": [], "receiver": None, "group_key": None},
        }
    ]
    assert source.host_of({"instance": "[::1]:9121"}, "instance") == ["::1"]


@pytest.mark.parametrize(
    ("args", "missing"), [({"port": 1}, "host"), ({"host": "127.0.0.1"}, "port"), ({}, "host and port")]
)
def test_host_and_port_have_no_defaults(args, missing):
    with pytest.raises(ValueError, match=f"set {missing} "):
        asyncio.run(source.main(asyncio.Queue(), args))
