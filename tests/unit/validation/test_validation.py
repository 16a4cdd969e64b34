"""Property tests of the shared validators (plugins/module_utils/validation.py) and the per-backend checks."""

from __future__ import annotations

import math

import pytest
from ansible_collections.stratum.ops.plugins.module_utils import validation as v
from ansible_collections.stratum.ops.plugins.module_utils.alembic import alembic_checks
from ansible_collections.stratum.ops.plugins.module_utils.celery import CeleryBrokerError, celery_checks, open_broker
from ansible_collections.stratum.ops.plugins.module_utils.ecs import botocore_config, ecs_checks
from ansible_collections.stratum.ops.plugins.module_utils.k8s_rollout import k8s_checks
from ansible_collections.stratum.ops.plugins.module_utils.postgres import PostgresError, connection_kwargs
from ansible_collections.stratum.ops.plugins.module_utils.postgres_maintenance import check_objects
from ansible_collections.stratum.ops.plugins.module_utils.redis import RedisModuleError
from ansible_collections.stratum.ops.plugins.module_utils.redis import connection_kwargs as redis_kwargs
from hypothesis import given, settings
from hypothesis import strategies as st

SETTINGS = settings(max_examples=150, deadline=None)

bad_ports = st.one_of(st.integers(max_value=0), st.integers(min_value=65536), st.booleans(), st.floats())
bad_floats = st.one_of(
    st.just(math.nan),
    st.just(math.inf),
    st.just(-math.inf),
    st.floats(max_value=0),
    st.floats(min_value=1e6, allow_infinity=False),
)
nul_text = st.tuples(st.text(max_size=10), st.text(max_size=10)).map(lambda t: t[0] + "\x00" + t[1])
surrogate_text = st.tuples(st.text(max_size=10), st.integers(0xD800, 0xDFFF)).map(lambda t: t[0] + chr(t[1]))
label = st.text("abcdefghijklmnopqrstuvwxyz0123456789", min_size=1, max_size=20)
long_label_host = st.tuples(label, st.integers(64, 200)).map(lambda t: t[0] + "." + "a" * t[1] + ".example")


def rejects(func, *args, option):
    with pytest.raises(v.InvalidOption) as err:
        func(option, *args)
    assert err.value.option.startswith(option)
    assert str(err.value).startswith(option)
    return str(err.value)


@SETTINGS
@given(st.integers(1, 65535))
def test_valid_ports_pass(port):
    assert v.check_port("port", port) == port


@SETTINGS
@given(bad_ports)
def test_invalid_ports_name_the_option_and_the_range(port):
    assert "1 to 65535" in rejects(v.check_port, port, option="login_port")


@SETTINGS
@given(bad_floats)
def test_timeouts_must_be_finite_positive_and_bounded(value):
    message = rejects(v.check_timeout, value, 3600, option="connect_timeout")
    assert "3600" in message


@SETTINGS
@given(st.floats(min_value=0.001, max_value=3600))
def test_reasonable_timeouts_pass(value):
    assert v.check_timeout("connect_timeout", value, 3600) == value


@SETTINGS
@given(st.one_of(nul_text, surrogate_text))
def test_text_with_nul_or_lone_surrogate_is_refused_also_nested(text):
    rejects(v.check_text, text, option="password")
    rejects(v.check_text, ["ok", text], option="keys")
    rejects(v.check_text, [{"schema": text}], option="objects")


@SETTINGS
@given(st.text().filter(lambda t: "\x00" not in t))
def test_text_without_nul_or_surrogates_passes(text):
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return
    assert v.check_text("key", text) == text


@SETTINGS
@given(long_label_host)
def test_host_labels_over_63_characters_are_refused(host):
    assert "63" in rejects(v.check_host, host, option="host")


@SETTINGS
@given(st.lists(label, min_size=1, max_size=5).map(".".join))
def test_plain_host_names_pass(host):
    assert v.check_host("host", host) == host


def test_host_forms():
    for good in ("127.0.0.1", "::1", "[::1]", "db-1.internal", "redis_1", "a" * 63 + ".x"):
        assert v.check_host("host", good) == good
    rejects(v.check_host, "a." * 127 + "ab", option="host")  # 256 characters
    rejects(v.check_host, "", option="host")
    rejects(v.check_host, "not a host", option="host")
    rejects(v.check_host, "-bad.example", option="host")


@pytest.mark.parametrize(
    ("url", "fragment"),
    [
        ("redis://h:6379/abc", "database path 'abc' is not a database number"),
        ("redis://h/0?socket_timeout=abc", "socket_timeout='abc' must be a number"),
        ("redis://h/0?socket_timeout=nan", "must be a finite number"),
        ("redis://h/0?bogus=1", "unknown query parameters bogus"),
        ("redis://h:99999/0", "its port is not a number from 1 to 65535"),
        ("redis://h:0/0", "port must be a port number from 1 to 65535"),
        ("unix:///tmp/redis.sock", "has scheme 'unix'; use redis://, rediss://"),
        ("redis://" + "a" * 64 + "/0", "63"),
        ("redis:///0", "names no host"),
    ],
)
def test_redis_urls(url, fragment):
    assert fragment in rejects(v.check_redis_url, url, option="url")


def test_good_redis_urls_pass():
    for url in ("redis://h", "redis://h:6380/3", "rediss://u:p@h/0?socket_timeout=2", "redis://[::1]:6379/1"):
        assert v.check_redis_url("url", url) == url


@pytest.mark.parametrize(
    ("params", "option"),
    [
        ({"port": 0}, "port"),
        ({"port": 70000}, "port"),
        ({"db": -1}, "db"),
        ({"url": "redis://h/abc"}, "url"),
        ({"connect_timeout": math.nan}, "connect_timeout"),
        ({"command_timeout": math.inf}, "command_timeout"),
        ({"host": "x" * 64}, "host"),
    ],
)
def test_redis_connection_kwargs_refuse_instead_of_falling_back_to_defaults(params, option):
    with pytest.raises(RedisModuleError, match=f"^{option}"):
        redis_kwargs(params)


def test_redis_zero_values_are_never_replaced_by_defaults():
    assert redis_kwargs({"db": 0, "port": 6380, "host": "h"})["port"] == 6380
    kwargs = redis_kwargs({"connect_timeout": 2, "command_timeout": 3})
    assert (kwargs["socket_connect_timeout"], kwargs["socket_timeout"]) == (2.0, 3.0)


@pytest.mark.parametrize(
    ("params", "option"),
    [
        ({"login_port": 0}, "login_port"),
        ({"login_port": 65536}, "login_port"),
        ({"connect_timeout": 0}, "connect_timeout"),
        ({"login_host": "a" * 64 + ".db"}, "login_host"),
        ({"login_user": ""}, "login_user"),
        ({"ca_cert": "/nonexistent/ca.pem"}, "ca_cert"),
    ],
)
def test_postgres_connection_kwargs_refuse(params, option):
    with pytest.raises(PostgresError, match=f"^{option}"):
        connection_kwargs(params)


def test_postgres_socket_directory_is_not_a_host_name():
    assert connection_kwargs({"login_host": "/var/run/postgresql", "login_port": 5433})["port"] == 5433


@pytest.mark.parametrize(
    ("url", "fragment"),
    [
        ("redis://h:6379/abc", "not a database number"),
        ("redis://h/0?socket_timeout=abc", "socket_timeout"),
        ("amqp://h:99999//", "port"),
        ("amqp://h//?heartbeat=inf", "heartbeat"),
        ("http://h", "scheme"),
    ],
)
def test_broker_urls_fail_before_connecting(url, fragment):
    with pytest.raises(CeleryBrokerError, match=fragment) as err:
        open_broker(url, 1.0)
    assert str(err.value).startswith("broker_url")
    errors = v.collect_errors(celery_checks({"broker_url": url, "timeout": 1.0}))
    assert [e.option for e in errors] == ["broker_url"]


def test_celery_timeout_bounds():
    for bad in (0, -1, math.nan, math.inf, 1e9):
        assert [e.option for e in v.collect_errors(celery_checks({"broker_url": None, "timeout": bad}))] == ["timeout"]


def test_ecs_checks_and_botocore_bounds():
    errors = v.collect_errors(
        ecs_checks({"endpoint_url": "http://localhost:99999", "cluster": "", "service": "s", "wait_timeout": 0})
    )
    assert [e.option for e in errors] == ["endpoint_url", "cluster", "wait_timeout"]
    config = botocore_config(40)
    assert config.read_timeout == 10 and config.connect_timeout == 10
    assert config.retries == {"total_max_attempts": 1}
    assert botocore_config(2).read_timeout == 1.0


def test_k8s_checks_messages(tmp_path):
    params = {"name": "", "namespace": "Bad_NS", "host": "not a url", "kubeconfig": 5, "ca_cert": str(tmp_path / "x")}
    errors = {e.option: str(e) for e in v.collect_errors(k8s_checks(params))}
    assert set(errors) == {"name", "namespace", "host", "kubeconfig", "ca_cert"}
    assert "use http://, https://" in errors["host"]
    assert "path of a kubeconfig file or a kubeconfig dict" in errors["kubeconfig"]
    assert "existing file" in errors["ca_cert"]


def test_alembic_url_env_var_must_be_a_variable_name():
    for bad in ("", "1X", "A-B", "A\x00"):
        errors = v.collect_errors(alembic_checks({"url_env_var": bad}))
        assert [e.option for e in errors] == ["url_env_var"]
    assert v.collect_errors(alembic_checks({"url_env_var": "DATABASE_URL"})) == []


def test_maintenance_objects():
    assert "schema must be a string" in rejects(check_objects, [{"schema": {"a": 1}, "name": "t"}], option="objects")
    rejects(check_objects, [{"schema": {"a": 1}}], option="objects")
    rejects(check_objects, [""], option="objects")
    rejects(check_objects, [{"name": "t", "kind": "view"}], option="objects")
    assert check_objects("objects", ["public.t", {"schema": "s", "name": "t", "size_bytes": 1}])


def test_int_options_given_infinity_fail_as_a_type_error_naming_the_option():
    from ansible.module_utils.common.arg_spec import ArgumentSpecValidator

    result = ArgumentSpecValidator({"max_age_days": {"type": "int"}}).validate({"max_age_days": "inf"})
    assert result.errors and "max_age_days" in result.errors.messages[0]
    assert "not a finite integer" in result.errors.messages[0]
