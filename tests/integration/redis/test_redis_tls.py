"""Both Redis modules over TLS (rediss:// and tls + ca_certs), against a redis-server with a throwaway CA."""

from __future__ import annotations

import shutil
import subprocess

import pytest
from harness import servers
from harness.ansible_run import assert_clean_failure, run_module

pytestmark = pytest.mark.skipif(not shutil.which("openssl"), reason="openssl is needed to make test certificates")


@pytest.fixture
def tls_redis(redis_server_factory, tmp_path):
    """A redis-server with a TLS port next to its plain one; returns (server, tls_port, ca_file)."""
    ca_key, ca, key, csr, cert = (tmp_path / n for n in ("ca.key", "ca.pem", "server.key", "server.csr", "server.pem"))

    def run(*args):
        return subprocess.run(args, check=True, capture_output=True)

    run("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", ca_key, "-out", ca, "-days", "2",
        "-subj", "/CN=stratum-test-ca")  # fmt: skip
    run("openssl", "req", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", csr, "-subj", "/CN=127.0.0.1")
    ext = tmp_path / "ext.cnf"
    ext.write_text("subjectAltName=IP:127.0.0.1,DNS:localhost\n")
    run("openssl", "x509", "-req", "-in", csr, "-CA", ca, "-CAkey", ca_key, "-CAcreateserial", "-out", cert,
        "-days", "2", "-extfile", ext)  # fmt: skip
    tls_port = servers.free_port()
    server = redis_server_factory(
        password="tls-Pw-4410",
        extra_args=["--tls-port", str(tls_port), "--tls-cert-file", str(cert), "--tls-key-file", str(key),
                    "--tls-ca-cert-file", str(ca), "--tls-auth-clients", "no"],
    )  # fmt: skip
    return server, tls_port, str(ca)


def test_cleanup_and_memory_info_work_over_tls_and_verify_the_certificate(tls_redis):
    server, tls_port, ca = tls_redis
    client = server.client()
    for i in range(300):
        client.set(f"cache:analytics:{i}", "v")
    client.set("keep:1", "v")
    tls = {"host": "127.0.0.1", "port": tls_port, "password": server.password, "tls": True, "ca_certs": ca}

    cleaned, _unused = run_module("stratum.ops.redis_cleanup", {**tls, "pattern": "cache:analytics:*"})
    assert cleaned["deleted"] == 300 and client.dbsize() == 1

    url = f"rediss://:{server.password}@127.0.0.1:{tls_port}/0"
    info, run = run_module("stratum.ops.redis_memory_info", {"url": url, "ca_certs": ca}, verbosity=3)
    assert info["keys_per_db"]["db0"]["keys"] == 1 and info["biggest_keys"][0]["name"] == "keep:1"
    assert server.password not in run.output

    untrusted, _unused = run_module("stratum.ops.redis_memory_info", {**tls, "ca_certs": None, "connect_timeout": 3})
    assert_clean_failure(untrusted, "cannot connect to Redis")
    unverified, _unused = run_module(
        "stratum.ops.redis_memory_info", {**tls, "ca_certs": None, "validate_certs": False}
    )
    assert unverified.status == "ok"
