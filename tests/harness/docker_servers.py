"""A private dockerd and a throwaway registry (Debian's docker.io and docker-registry) for the build tests.

Each runs in its own temp dir, on its own unix socket / free port, and is stopped after. The machine's
/var/run/docker.sock is never used: tests pass `env` (DOCKER_HOST, DOCKER_CONFIG) to everything they run.

    with private_dockerd() as docker, registry() as reg:
        docker.cli("build", "-t", f"{reg.url}/stratum/api:1.0.0", context)
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import socket
import subprocess
import tempfile
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from harness.servers import ServerStartError, free_port, stop_process, wait_for

# Debian's CLI; tests put a fake `docker` (tests/compose_double/docker) first on PATH for Compose.
DOCKER_CLI = next((p for p in ("/usr/bin/docker", "/usr/local/bin/docker") if os.access(p, os.X_OK)), "docker")
MANIFEST_V2 = "application/vnd.docker.distribution.manifest.v2+json"
IMAGE_CONFIG = "application/vnd.docker.container.image.v1+json"


def available() -> str:
    """'' when dockerd and docker-registry are installed, else what is missing (for pytest.skip)."""
    missing = [name for name in ("dockerd", "docker-registry") if not shutil.which(name)]
    return "" if not missing else f"not installed: {', '.join(missing)} (setup.sh installs docker.io, docker-registry)"


@dataclass
class Dockerd:
    """dockerd with its own data root, exec root, socket and pidfile; no iptables, no bridge."""

    workdir: Path
    proc: subprocess.Popen | None = field(default=None, repr=False)

    @property
    def socket(self) -> Path:
        return self.workdir / "docker.sock"

    @property
    def host(self) -> str:
        return f"unix://{self.socket}"

    @property
    def env(self) -> dict[str, str]:
        """DOCKER_HOST for the CLI and community.docker; DOCKER_CONFIG so `docker login` writes here."""
        return {"DOCKER_HOST": self.host, "DOCKER_CONFIG": str(self.workdir / "config")}

    @property
    def log(self) -> Path:
        return self.workdir / "dockerd.log"

    def ping(self) -> bool:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.settimeout(2)
            sock.connect(str(self.socket))
            sock.sendall(b"GET /_ping HTTP/1.0\r\nHost: docker\r\n\r\n")
            return b"OK" in sock.recv(4096)

    def start(self) -> Dockerd:
        (self.workdir / "config").mkdir(exist_ok=True)
        cmd = [
            shutil.which("dockerd") or "/usr/sbin/dockerd",
            "--data-root",
            str(self.workdir / "data"),
            "--exec-root",
            str(self.workdir / "exec"),
            "--host",
            self.host,
            "--pidfile",
            str(self.workdir / "docker.pid"),
            "--iptables=false",
            "--ip-masq=false",
            "--bridge=none",
            # vfs works anywhere (no overlay mounts in a container); the test images are a few bytes
            "--storage-driver=vfs",
        ]
        self.proc = subprocess.Popen(
            cmd,
            start_new_session=True,
            stdout=open(self.log, "ab"),  # noqa: SIM115 - the child owns it
            stderr=subprocess.STDOUT,
        )

        def up() -> bool:
            if self.proc.poll() is not None:
                raise ServerStartError(f"dockerd exited: {self.log.read_text(errors='replace')[-2000:]}")
            return self.ping()

        wait_for(up, 60, f"dockerd on {self.socket}", self.log)
        return self

    def cli(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        """The real docker CLI against this daemon."""
        return subprocess.run(
            [DOCKER_CLI, *args],
            env=dict(os.environ, **self.env),
            capture_output=True,
            text=True,
            check=check,
            timeout=120,
        )

    def stop(self) -> None:
        if self.proc:
            stop_process(self.proc, timeout=20)


@dataclass
class Registry:
    """docker-registry serve CONFIG on 127.0.0.1:<free port>, storage in the temp dir (plain HTTP)."""

    port: int
    workdir: Path
    proc: subprocess.Popen | None = field(default=None, repr=False)

    @property
    def url(self) -> str:
        """HOST:PORT, as in stratum_registry.url."""
        return f"127.0.0.1:{self.port}"

    @property
    def log(self) -> Path:
        return self.workdir / "registry.log"

    def start(self) -> Registry:
        config = self.workdir / "registry.yml"
        # JSON is YAML; the registry reads it as its configuration file
        config.write_text(
            json.dumps(
                {
                    "version": 0.1,
                    "log": {"level": "warn"},
                    "storage": {"filesystem": {"rootdirectory": str(self.workdir / "storage")}},
                    "http": {"addr": self.url, "secret": "stratum-test-not-a-secret"},
                }
            )
        )
        self.proc = subprocess.Popen(
            [shutil.which("docker-registry") or "/usr/bin/docker-registry", "serve", str(config)],
            start_new_session=True,
            stdout=open(self.log, "ab"),  # noqa: SIM115 - the child owns it
            stderr=subprocess.STDOUT,
        )

        def up() -> bool:
            if self.proc.poll() is not None:
                raise ServerStartError(f"docker-registry exited: {self.log.read_text(errors='replace')[-2000:]}")
            with urllib.request.urlopen(f"http://{self.url}/v2/", timeout=2) as resp:
                return resp.status == 200

        wait_for(up, 30, f"docker-registry on {self.url}", self.log)
        return self

    def manifest_digest(self, repository: str, tag: str) -> str:
        """The digest the registry has for repository:tag, '' when it has none."""
        req = urllib.request.Request(
            f"http://{self.url}/v2/{repository}/manifests/{tag}", method="HEAD", headers={"Accept": MANIFEST_V2}
        )
        try:
            with urllib.request.urlopen(req, timeout=5) as resp:
                return resp.headers.get("Docker-Content-Digest", "")
        except urllib.error.HTTPError as exc:
            if exc.code == 404:
                return ""
            raise

    def seed(self, repository: str, tags: list[str]) -> None:
        """Push a tiny image manifest (one empty-ish config blob, no layers) under each tag, over the v2 API."""
        for tag in tags:
            blob = json.dumps({"architecture": "amd64", "os": "linux", "config": {"Labels": {"tag": tag}}}).encode()
            digest = "sha256:" + hashlib.sha256(blob).hexdigest()
            upload = urllib.request.Request(f"http://{self.url}/v2/{repository}/blobs/uploads/", method="POST")
            with urllib.request.urlopen(upload, timeout=10) as resp:
                location = resp.headers["Location"]
            if location.startswith("/"):
                location = f"http://{self.url}{location}"
            sep = "&" if "?" in location else "?"
            put = urllib.request.Request(
                f"{location}{sep}digest={digest}",
                data=blob,
                method="PUT",
                headers={"Content-Type": "application/octet-stream"},
            )
            urllib.request.urlopen(put, timeout=10).close()
            manifest = {
                "schemaVersion": 2,
                "mediaType": MANIFEST_V2,
                "config": {"mediaType": IMAGE_CONFIG, "size": len(blob), "digest": digest},
                "layers": [],
            }
            req = urllib.request.Request(
                f"http://{self.url}/v2/{repository}/manifests/{tag}",
                data=json.dumps(manifest).encode(),
                method="PUT",
                headers={"Content-Type": MANIFEST_V2},
            )
            urllib.request.urlopen(req, timeout=10).close()

    def stop(self) -> None:
        if self.proc:
            stop_process(self.proc)


@contextlib.contextmanager
def private_dockerd() -> Iterator[Dockerd]:
    # a short path: a unix socket path must stay under 108 bytes
    workdir = Path(tempfile.mkdtemp(prefix="sdk-", dir="/tmp"))
    daemon = Dockerd(workdir)
    try:
        yield daemon.start()
    finally:
        daemon.stop()
        shutil.rmtree(workdir, ignore_errors=True)


@contextlib.contextmanager
def registry() -> Iterator[Registry]:
    with tempfile.TemporaryDirectory(prefix="stratum-registry-") as tmp:
        reg = Registry(port=free_port(), workdir=Path(tmp))
        try:
            yield reg.start()
        finally:
            reg.stop()
