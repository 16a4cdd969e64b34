# -*- coding: utf-8 -*-
# Copyright: (c) 2026, Stratum SRE
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Celery backlog triage: worker replies from a broadcast, queue depth from the broker itself.

Nothing here imports the user's Celery app: a bare app on the broker URL is enough to broadcast
``inspect`` commands, and depth is read straight from the broker (Redis lists, AMQP passive declare).
"""

from __future__ import annotations

import socket
import time
import traceback
import uuid
from typing import Any
from urllib.parse import unquote, urlsplit, urlunsplit

from ansible.module_utils.basic import env_fallback
from ansible_collections.stratum.ops.plugins.module_utils.validation import (
    InvalidOption,
    check_query_numbers,
    check_redis_url,
    check_timeout,
    split_url,
)

CELERY_IMPORT_ERROR: str | None = None
try:
    from celery import Celery
    from kombu import Connection, Consumer
except ImportError:
    CELERY_IMPORT_ERROR = traceback.format_exc()

REDIS_IMPORT_ERROR: str | None = None
try:
    import redis
except ImportError:
    REDIS_IMPORT_ERROR = traceback.format_exc()

# kombu's Redis transport stores priority p of queue q in list "q" (p=0) or "q\x06\x16<p>" for the
# steps 3, 6, 9 (kombu/transport/redis.py: Channel.sep, PRIORITY_STEPS, _q_for_pri).
REDIS_PRIORITY_SEP = "\x06\x16"
REDIS_PRIORITY_STEPS = (0, 3, 6, 9)
try:
    from kombu.transport.redis import PRIORITY_STEPS as _KOMBU_STEPS
    from kombu.transport.redis import Channel as _KombuRedisChannel

    REDIS_PRIORITY_SEP = _KombuRedisChannel.sep
    REDIS_PRIORITY_STEPS = tuple(_KOMBU_STEPS)
except ImportError:
    pass

REDIS_SCHEMES = ("redis", "rediss")
AMQP_SCHEMES = ("amqp", "amqps", "pyamqp")
INSPECT_COMMANDS = ("ping", "stats", "active_queues", "active", "reserved", "scheduled")
DEFAULT_INCLUDE = ["ping", "stats", "active_queues", "active", "reserved"]
DEFAULT_QUEUE = "celery"
REDACTED = "********"


class CeleryBrokerError(Exception):
    """An expected failure (bad URL, broker down, auth refused): the message is for the on-call engineer."""


def celery_common_argument_spec() -> dict[str, Any]:
    """Connection options shared by every stratum.ops Celery module (see the stratum.ops.celery doc fragment)."""
    return {
        "broker_url": {
            "type": "str",
            "required": True,
            "no_log": True,
            "fallback": (env_fallback, ["CELERY_BROKER_URL"]),
        },
        "timeout": {"type": "float", "default": 1.0},
    }


MAX_TIMEOUT = 3600
AMQP_URL_QUERY = {"heartbeat": (-1, MAX_TIMEOUT), "connect_timeout": (0, MAX_TIMEOUT)}


def check_broker_url(option: str, value: Any) -> Any:
    """A redis(s):// or amqp(s):// broker URL with a valid host, port, database number and timeouts."""
    if value is None:
        return value
    schemes = REDIS_SCHEMES + AMQP_SCHEMES
    parts = split_url(option, value, schemes)
    if parts.scheme.lower() in REDIS_SCHEMES:
        check_redis_url(option, value)
    else:
        check_query_numbers(option, parts, AMQP_URL_QUERY)
    return value


def celery_checks(params: dict[str, Any]) -> list[tuple[Any, ...]]:
    """Validation of the common Celery options (stratum.ops.validation.validate_module runs them)."""
    return [
        (check_broker_url, "broker_url", params.get("broker_url")),
        (check_timeout, "timeout", params.get("timeout"), MAX_TIMEOUT),
    ]


def validate_broker_url(url: str) -> None:
    """check_broker_url as a CeleryBrokerError (for callers outside a module)."""
    try:
        check_broker_url("broker_url", url)
    except InvalidOption as exc:
        raise CeleryBrokerError(str(exc)) from None


# ------------------------------------------------------------------------------------------ URLs
def redact_url(url: str) -> str:
    """Return the URL with its password (if any) replaced by ********."""
    try:
        parts = urlsplit(url)
        password, host, port = parts.password, parts.hostname or "", parts.port
    except ValueError:  # unparsable: show nothing that could hold the password
        return REDACTED
    if password is None:
        return url
    if ":" in host:
        host = f"[{host}]"
    if port is not None:
        host = f"{host}:{port}"
    user = parts.username or ""
    return urlunsplit((parts.scheme, f"{user}:{REDACTED}@{host}", parts.path, parts.query, parts.fragment))


def url_password(url: str) -> str | None:
    """The password in a broker URL (decoded), so callers can add it to the values Ansible masks."""
    try:
        password = urlsplit(url).password
    except ValueError:
        return None
    return unquote(password) if password else None


def broker_kind(url: str) -> str:
    """Return 'redis' or 'amqp' for a broker URL, or raise CeleryBrokerError naming what is wrong."""
    validate_broker_url(url)
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - a non-numeric port raises ValueError here
    except ValueError as exc:
        raise CeleryBrokerError(f"broker_url {redact_url(url)} is not a valid URL: {exc}") from None
    scheme = parts.scheme.lower()
    if scheme in REDIS_SCHEMES:
        kind = "redis"
    elif scheme in AMQP_SCHEMES:
        kind = "amqp"
    else:
        raise CeleryBrokerError(
            f"broker_url {redact_url(url)} has scheme {scheme or '(none)'!r}; "
            "use redis://, rediss://, amqp:// or amqps://"
        )
    if not parts.hostname:
        raise CeleryBrokerError(f"broker_url {redact_url(url)} names no host")
    return kind


# -------------------------------------------------------------------------------------- brokers
def redis_priority_keys(queue: str) -> list[str]:
    """The Redis lists kombu keeps one queue in: the queue itself plus one per priority step."""
    return [queue if step == 0 else f"{queue}{REDIS_PRIORITY_SEP}{step}" for step in REDIS_PRIORITY_STEPS]


def _io_timeout(timeout: float) -> float:
    return max(5.0, timeout * 5)


class RedisBroker:
    """Depth and purge on a Redis broker, through redis-py (one round trip per call)."""

    kind = "redis"

    def __init__(self, url: str, timeout: float) -> None:
        self.url = url
        # No redis-py retries (3 with backoff by default): a broker that is down should fail the triage at once.
        self.client = redis.Redis.from_url(
            url,
            socket_connect_timeout=timeout,
            socket_timeout=_io_timeout(timeout),
            retry=redis.retry.Retry(redis.backoff.NoBackoff(), 0),
        )
        try:
            self.client.ping()
        except redis.AuthenticationError:
            raise CeleryBrokerError(f"Redis broker {redact_url(url)} refused the password") from None
        except redis.exceptions.ResponseError as exc:
            if "NOAUTH" in str(exc) or "WRONGPASS" in str(exc):
                raise CeleryBrokerError(f"Redis broker {redact_url(url)} refused the credentials: {exc}") from None
            raise CeleryBrokerError(f"Redis broker {redact_url(url)} answered PING with an error: {exc}") from None
        except (redis.ConnectionError, redis.TimeoutError, OSError) as exc:
            raise CeleryBrokerError(f"cannot reach the Redis broker at {redact_url(url)}: {exc}") from None

    def depths(self, queues: list[str]) -> dict[str, dict[str, int | None]]:
        """LLEN of every queue and its priority sub-lists in one pipeline; consumers are unknown to Redis."""
        try:
            with self.client.pipeline(transaction=False) as pipe:
                for queue in queues:
                    for key in redis_priority_keys(queue):
                        pipe.llen(key)
                sizes = pipe.execute()
        except redis.RedisError as exc:
            raise CeleryBrokerError(
                f"reading queue depth from the Redis broker {redact_url(self.url)} failed: {exc}"
            ) from None
        steps = len(REDIS_PRIORITY_STEPS)
        return {
            queue: {"depth": sum(sizes[i * steps : (i + 1) * steps]), "consumers": None}
            for i, queue in enumerate(queues)
        }

    def purge(self, queue: str) -> int:
        """Delete the queue's lists atomically (MULTI/EXEC) and return how many messages they held."""
        try:
            with self.client.pipeline(transaction=True) as pipe:
                for key in redis_priority_keys(queue):
                    pipe.llen(key)
                    pipe.delete(key)
                results = pipe.execute()
        except redis.RedisError as exc:
            raise CeleryBrokerError(
                f"purging {queue!r} on the Redis broker {redact_url(self.url)} failed: {exc}"
            ) from None
        return sum(results[::2])

    def close(self) -> None:
        self.client.close()


class AmqpBroker:
    """Depth and purge on RabbitMQ: passive queue_declare gives message_count and consumer_count."""

    kind = "amqp"

    def __init__(self, url: str, timeout: float) -> None:
        self.url = url
        self.conn = Connection(url, connect_timeout=timeout, transport_options={"max_retries": 0})
        try:
            self.conn.ensure_connection(max_retries=1, interval_start=0, interval_step=0, timeout=timeout)
        except Exception as exc:  # kombu wraps socket, auth and protocol errors in many types
            text = str(exc)
            if "ACCESS_REFUSED" in text or "403" in text:
                raise CeleryBrokerError(f"RabbitMQ broker {redact_url(url)} refused the credentials: {text}") from None
            raise CeleryBrokerError(f"cannot reach the RabbitMQ broker at {redact_url(url)}: {text}") from None

    def _declare(self, queue: str) -> tuple[int, int] | None:
        """(messages, consumers) of an existing queue, None when it does not exist."""
        from amqp.exceptions import NotFound

        channel = self.conn.channel()
        try:
            _name, messages, consumers = channel.queue_declare(queue=queue, passive=True)
        except NotFound:
            return None  # the broker closed the channel; a new one is opened for the next queue
        else:
            channel.close()
        return messages, consumers

    def depths(self, queues: list[str]) -> dict[str, dict[str, int | None]]:
        """Message and consumer count of every queue; a queue that does not exist has depth 0."""
        result: dict[str, dict[str, int | None]] = {}
        try:
            for queue in queues:
                found = self._declare(queue)
                messages, consumers = found if found else (0, 0)
                result[queue] = {"depth": messages, "consumers": consumers}
        except CeleryBrokerError:
            raise
        except Exception as exc:  # connection lost midway
            raise CeleryBrokerError(f"reading queue depth from RabbitMQ {redact_url(self.url)} failed: {exc}") from None
        return result

    def purge(self, queue: str) -> int:
        """Purge the queue (queue.purge) and return the count RabbitMQ reports; 0 for a missing queue."""
        try:
            if self._declare(queue) is None:
                return 0
            channel = self.conn.channel()
            try:
                return int(channel.queue_purge(queue=queue) or 0)
            finally:
                channel.close()
        except Exception as exc:
            raise CeleryBrokerError(f"purging {queue!r} on RabbitMQ {redact_url(self.url)} failed: {exc}") from None

    def close(self) -> None:
        self.conn.release()


def open_broker(url: str, timeout: float) -> RedisBroker | AmqpBroker:
    """Connect to the broker the URL names, or raise CeleryBrokerError saying why not."""
    kind = broker_kind(url)
    if kind == "redis":
        if REDIS_IMPORT_ERROR:
            raise ImportError("redis")
        return RedisBroker(url, timeout)
    return AmqpBroker(url, timeout)


# -------------------------------------------------------------------------------------- workers
def _pool_name(stats: dict[str, Any]) -> str | None:
    """'celery.concurrency.prefork:TaskPool' -> 'prefork'."""
    implementation = (stats.get("pool") or {}).get("implementation")
    if not implementation:
        return None
    name = str(implementation).split(":", maxsplit=1)[0].rsplit(".", 1)[-1]
    return {"thread": "threads"}.get(name, name)


def _broadcast_all(app: Any, conn: Any, commands: list[str], expected: list[str] | None, timeout: float) -> dict:
    """Publish every command with its own ticket, then collect all replies from one reply queue.

    Celery's inspect() waits for one command's replies before sending the next; here the workers
    get all commands at once, so the round costs one broadcast latency instead of one per command.
    Uses kombu's Mailbox._publish (the message format Celery workers answer), stable since kombu 2.5.
    """
    mailbox = app.control.mailbox(conn)
    chan = conn.default_channel
    tickets: dict[str, str] = {}
    for command in commands:
        ticket = str(uuid.uuid4())
        tickets[ticket] = command
        mailbox._publish(command, {}, destination=expected or None, reply_ticket=ticket, channel=chan, timeout=timeout)
    replies: dict[str, dict[str, Any]] = {command: {} for command in commands}

    def on_reply(body: Any, message: Any) -> None:
        command = tickets.get(message.headers.get("ticket"))
        if command and isinstance(body, dict):
            replies[command].update(body)

    def complete() -> bool:
        return bool(expected) and all(len(replies[c]) >= len(expected) for c in commands)

    queue = mailbox.reply_queue
    deadline = time.monotonic() + timeout
    with Consumer(chan, [queue], accept=mailbox.accept, no_ack=True, callbacks=[on_reply]):
        while not complete():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            try:
                conn.drain_events(timeout=remaining)
            except socket.timeout:
                break
    chan.after_reply_message_received(queue.name)
    return replies


def inspect_workers(
    url: str, timeout: float, expected: list[str] | None, include: list[str], need_queues: bool
) -> dict[str, dict[str, Any]]:
    """Broadcast the inspect commands and return the raw replies per command: {command: {worker: reply}}.

    All commands go out at once on one connection and their replies are collected together: the
    call returns as soon as every expected worker answered every command, or after one timeout
    when someone does not. Without expected workers it always waits the full timeout.
    """
    app = Celery("stratum_ops_triage", broker=url, set_as_current=False)
    app.conf.update(
        broker_connection_timeout=timeout,
        broker_connection_max_retries=1,
        broker_connection_retry_on_startup=False,
        broker_transport_options={"max_retries": 1, "socket_connect_timeout": timeout},
    )
    commands = ["ping"] + [
        c for c in INSPECT_COMMANDS if c != "ping" and (c in include or (c == "active_queues" and need_queues))
    ]
    try:
        # The URL given, explicitly: Celery's own config would let CELERY_BROKER_URL from the environment win.
        with app.connection_for_write(url) as conn:
            conn.ensure_connection(max_retries=1, interval_start=0, interval_step=0, timeout=timeout)
            return _broadcast_all(app, conn, commands, expected, timeout)
    except CeleryBrokerError:
        raise
    except Exception as exc:  # kombu raises many transport-specific types for a lost broker
        raise CeleryBrokerError(f"broadcasting inspect to the workers via {redact_url(url)} failed: {exc}") from None
    finally:
        app.close()


def summarize_workers(
    replies: dict[str, dict[str, Any]], expected: list[str] | None
) -> tuple[dict[str, dict[str, Any]], list[str]]:
    """Turn raw inspect replies into {worker: {responded, pool, concurrency, processed, active, reserved, queues}}."""
    ping = replies.get("ping") or {}
    names = sorted(set(ping) | set(expected or []))
    workers: dict[str, dict[str, Any]] = {}
    for name in names:
        responded = name in ping
        stats = (replies.get("stats") or {}).get(name)
        active = (replies.get("active") or {}).get(name)
        reserved = (replies.get("reserved") or {}).get(name)
        queues = (replies.get("active_queues") or {}).get(name)
        record: dict[str, Any] = {
            "responded": responded,
            "pool": _pool_name(stats) if stats else None,
            "concurrency": (stats.get("pool") or {}).get("max-concurrency") if stats else None,
            "processed": sum((stats.get("total") or {}).values()) if stats else None,
            "active": len(active) if active is not None else None,
            "reserved": len(reserved) if reserved is not None else None,
            "queues": sorted(q["name"] for q in queues) if queues is not None else None,
        }
        scheduled = (replies.get("scheduled") or {}).get(name)
        if "scheduled" in replies:
            record["scheduled"] = len(scheduled) if scheduled is not None else None
        workers[name] = record
    unresponsive = sorted(name for name, record in workers.items() if not record["responded"])
    return workers, unresponsive


def default_queues(workers: dict[str, dict[str, Any]]) -> list[str]:
    """Every queue a responding worker consumes, plus Celery's default queue `celery`."""
    names = {DEFAULT_QUEUE}
    for record in workers.values():
        names.update(record.get("queues") or [])
    return sorted(names)


def consumers_from_workers(workers: dict[str, dict[str, Any]], queue: str) -> int | None:
    """How many responding workers consume the queue (for Redis, which keeps no consumer count)."""
    known = [r for r in workers.values() if r["responded"] and r.get("queues") is not None]
    if not known:
        return None
    return sum(1 for r in known if queue in r["queues"])


def build_queue_report(
    depths: dict[str, dict[str, int | None]], workers: dict[str, dict[str, Any]], threshold: int
) -> tuple[dict[str, dict[str, Any]], list[dict[str, Any]]]:
    """Queue records with over_threshold, and the backlog list (deepest first) of queues over it."""
    queues: dict[str, dict[str, Any]] = {}
    for name, record in depths.items():
        consumers = record.get("consumers")
        if consumers is None:
            consumers = consumers_from_workers(workers, name)
        depth = int(record["depth"] or 0)
        queues[name] = {"depth": depth, "consumers": consumers, "over_threshold": depth > threshold}
    backlog = [
        {"queue": name, "depth": rec["depth"]}
        for name, rec in sorted(queues.items(), key=lambda item: (-item[1]["depth"], item[0]))
        if rec["over_threshold"]
    ]
    return queues, backlog


def build_summary(
    workers: dict[str, dict[str, Any]],
    unresponsive: list[str],
    queues: dict[str, dict[str, Any]],
    backlog: list[dict[str, Any]],
    threshold: int,
) -> str:
    """One line a person reads on a page."""
    responded = sum(1 for r in workers.values() if r["responded"])
    parts = [f"{responded}/{len(workers)} workers responded"]
    if unresponsive:
        parts[0] += f" (unresponsive: {', '.join(unresponsive)})"
    if backlog:
        items = []
        for entry in backlog:
            consumers = queues[entry["queue"]]["consumers"]
            who = "" if consumers is None else f", {consumers} consumer{'s' if consumers != 1 else ''}"
            items.append(f"{entry['queue']} {entry['depth']}{who}")
        parts.append(f"BACKLOG over {threshold}: " + "; ".join(items))
    elif queues:
        deepest = max(queues.items(), key=lambda item: (item[1]["depth"], item[0]))
        parts.append(f"no queue over {threshold} (deepest: {deepest[0]} {deepest[1]['depth']})")
    else:
        parts.append("no queue read")
    return "; ".join(parts)


def celery_triage(
    url: str,
    timeout: float,
    expected: list[str] | None,
    queues: list[str] | None,
    threshold: int,
    include: list[str],
) -> dict[str, Any]:
    """Workers from one round of broadcasts, depth from the broker; the celery_info result."""
    expected = list(dict.fromkeys(expected or []))  # a duplicate would wait for a reply that never comes
    broker = open_broker(url, timeout)
    try:
        replies = inspect_workers(url, timeout, expected, include, need_queues=not queues)
        workers, unresponsive = summarize_workers(replies, expected)
        names = list(dict.fromkeys(queues)) if queues else default_queues(workers)
        depths = broker.depths(names)
    finally:
        broker.close()
    queue_report, backlog = build_queue_report(depths, workers, threshold)
    return {
        "broker": redact_url(url),
        "workers": workers,
        "queues": queue_report,
        "unresponsive": unresponsive,
        "backlog": backlog,
        "summary": build_summary(workers, unresponsive, queue_report, backlog, threshold),
    }


# ---------------------------------------------------------------------------------------- purge
def purge_refusal(queue: str, allowed_queues: list[str], force: bool) -> str | None:
    """Why this purge must not happen, or None when it is allowed (the runbook's "if safe")."""
    if not queue or not queue.strip():
        return "queue must be a non-empty queue name"
    if force or queue in allowed_queues:
        return None
    if not allowed_queues:
        return (
            f"refusing to purge queue {queue!r}: purging deletes its tasks for good; list it in "
            "allowed_queues (queues whose tasks are safe to drop) or set force: true"
        )
    return (
        f"refusing to purge queue {queue!r}: it is not in allowed_queues ({', '.join(allowed_queues)}); "
        "add it there or set force: true"
    )


def purge_queue(url: str, timeout: float, queue: str, check_mode: bool) -> dict[str, Any]:
    """Purge one queue (or, in check mode, only read its depth); the celery_purge result."""
    broker = open_broker(url, timeout)
    try:
        depth_before = int(broker.depths([queue])[queue]["depth"] or 0)
        # check mode reports what it would purge; an empty queue needs no purge at all
        purged = depth_before if check_mode else (broker.purge(queue) if depth_before else 0)
    finally:
        broker.close()
    return {
        "broker": redact_url(url),
        "queue": queue,
        "depth_before": depth_before,
        "purged": purged,
        "changed": purged > 0,
    }
