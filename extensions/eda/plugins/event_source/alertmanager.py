"""stratum.ops.alertmanager: an ansible-rulebook event source for Alertmanager webhooks.

Alertmanager POSTs one notification per alert group; this source puts one event per alert on the
queue, in the shape ansible.eda.alertmanager uses, so rulebooks written for that source work:

    {"alert": {"status": "firing", "labels": {...}, "annotations": {...}, "startsAt": ..., ...},
     "meta": {"endpoint": "<path>", "hosts": ["<instance host>"], "receiver": ..., "group_key": ...}}

Arguments:
    host        address to listen on (required: where Alertmanager can reach it, no default)
    port        TCP port to listen on (required)
    host_label  alert label whose value (without :port) goes to meta.hosts; default "instance",
                "" for none. ansible-rulebook limits run_playbook to meta.hosts, so rulebooks whose
                playbooks choose their hosts from the inventory (ours) set it to "".

Any path accepts a POST (Alertmanager's webhook_configs url may carry one); GET / answers "up".
A body that is not an Alertmanager notification is refused with 400 and nothing is queued.
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

from aiohttp import web

LOG = logging.getLogger(__name__)
QUEUE = web.AppKey("queue", asyncio.Queue)
HOST_LABEL = web.AppKey("host_label", str)


def host_of(labels: dict, label: str) -> list[str]:
    """meta.hosts for an alert: the label's value without a port ("10.0.0.5:9121" -> "10.0.0.5")."""
    value = labels.get(label) if label else None
    if not value:
        return []
    if value.startswith("["):  # [ipv6]:port
        return [value[1:].split("]", 1)[0]]
    return [value.rsplit(":", 1)[0] if value.count(":") == 1 else value]


def events_from(notification: Any, endpoint: str, host_label: str) -> list[dict]:
    """One event per alert of an Alertmanager webhook notification (version 4 payload)."""
    if not isinstance(notification, dict) or not isinstance(notification.get("alerts"), list):
        raise ValueError("not an Alertmanager notification: no 'alerts' list")
    events = []
    for alert in notification["alerts"]:
        if not isinstance(alert, dict) or not isinstance(alert.get("labels"), dict):
            raise ValueError("not an Alertmanager notification: an alert without labels")
        alert = {
            **alert,
            "annotations": alert.get("annotations") or {},
            "status": alert.get("status") or notification.get("status", "firing"),
        }
        meta = {
            "endpoint": endpoint,
            "hosts": host_of(alert["labels"], host_label),
            "receiver": notification.get("receiver"),
            "group_key": notification.get("groupKey"),
        }
        events.append({"alert": alert, "meta": meta})
    return events


async def _status(_request: web.Request) -> web.Response:
    return web.Response(text="up")


async def _receive(request: web.Request) -> web.Response:
    try:
        notification = json.loads(await request.text())
        events = events_from(notification, request.match_info["path"], request.app[HOST_LABEL])
    except ValueError as exc:  # json.JSONDecodeError is a ValueError
        LOG.warning("alertmanager source: refused a POST to /%s: %s", request.match_info["path"], exc)
        return web.Response(status=400, text=str(exc))
    for event in events:
        await request.app[QUEUE].put(event)
    return web.Response(status=202, text=f"{len(events)} alert(s) received")


async def main(queue: asyncio.Queue, args: dict[str, Any]) -> None:
    """ansible-rulebook's entry point: serve until cancelled."""
    missing = [name for name in ("host", "port") if args.get(name) in (None, "")]
    if missing:
        raise ValueError(f"stratum.ops.alertmanager: set {' and '.join(missing)} (where Alertmanager posts)")
    app = web.Application()
    app[QUEUE] = queue
    app[HOST_LABEL] = str(args.get("host_label", "instance") or "")
    app.router.add_get("/", _status)
    app.router.add_post("/{path:.*}", _receive)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, str(args["host"]), int(args["port"]))
    await site.start()
    LOG.info("alertmanager source: listening on %s:%s", args["host"], args["port"])
    try:
        await asyncio.Future()
    finally:
        await runner.cleanup()
