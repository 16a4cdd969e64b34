# -*- coding: utf-8 -*-
# Copyright: (c) 2026, Stratum SRE
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Container registries: does an image tag exist, and with which digest; ECR login credentials.

Two sources of truth, chosen by the inventory's ``stratum_registry.kind``:
- ``ecr``: the ECR API (``DescribeImages``, ``GetAuthorizationToken``) through a boto3 client;
- ``plain``: the registry's HTTP API v2 (``HEAD /v2/<name>/manifests/<tag>``), with Basic or Bearer auth.

Everything takes its client / opener as an argument so unit tests can pass fakes.
"""

from __future__ import annotations

import base64
import json
import re
import urllib.error
import urllib.parse
from typing import Any, Callable

from ansible_collections.stratum.ops.plugins.module_utils.validation import InvalidOption, check_host, check_text

KINDS = ("ecr", "plain")
# What `docker push` stores; a registry answers 404 for a manifest type the client does not accept.
MANIFEST_ACCEPT = ", ".join(
    [
        "application/vnd.docker.distribution.manifest.v2+json",
        "application/vnd.docker.distribution.manifest.list.v2+json",
        "application/vnd.oci.image.manifest.v1+json",
        "application/vnd.oci.image.index.v1+json",
    ]
)
# A repository path: lowercase components separated by '/' (the distribution spec's grammar).
REPOSITORY = re.compile(r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*")
TAG = re.compile(r"[A-Za-z0-9_][A-Za-z0-9._-]{0,127}")


class RegistryError(Exception):
    """An expected failure with a message an on-call engineer can act on."""


# ------------------------------------------------------------------------------------ names
def check_registry_url(option: str, value: Any) -> Any:
    """HOST[:PORT] without scheme or path (what `docker push HOST[:PORT]/name:tag` takes)."""
    if value is None or value == "":
        return value
    check_text(option, value)
    if not isinstance(value, str) or "/" in value or "@" in value:
        raise InvalidOption(option, f"must be HOST[:PORT] without scheme or path, got {value!r}")
    parts = value.rpartition(":") if value.count(":") == 1 else (value, "", "")
    host, port = parts[0], parts[2]
    check_host(option, host)
    if port and not (port.isdigit() and 0 < int(port) < 65536):
        raise InvalidOption(option, f"must be HOST[:PORT] with a port between 1 and 65535, got {value!r}")
    return value


def check_tag(option: str, value: Any) -> Any:
    check_text(option, value)
    if not isinstance(value, str) or not TAG.fullmatch(value):
        raise InvalidOption(option, f"must be an image tag (letters, digits, '.', '_', '-'), got {value!r}")
    return value


def repository_name(image: str, registry: str = "") -> str:
    """The repository path of an image name: without a registry host in front, without a tag or digest.

    ``stratum/api``, ``registry:5000/stratum/api:1.2`` and ``123.dkr.ecr.eu-west-1.amazonaws.com/stratum/api``
    all give ``stratum/api``.
    """
    name = image.split("@", 1)[0]
    last = name.rsplit("/", 1)
    if ":" in last[-1]:
        name = name.rsplit(":", 1)[0]
    if registry and name.startswith(registry + "/"):
        name = name[len(registry) + 1 :]
    first, sep, rest = name.partition("/")
    if sep and ("." in first or ":" in first or first == "localhost"):
        name = rest
    if not REPOSITORY.fullmatch(name):
        raise RegistryError(f"{image!r} is not an image name (lowercase path like stratum/api)")
    return name


def reference(registry: str, repository: str, tag: str) -> str:
    return f"{registry}/{repository}:{tag}" if registry else f"{repository}:{tag}"


# -------------------------------------------------------------------------------------- ECR
def ecr_image(client: Any, repository: str, tag: str, registry_id: str | None = None) -> dict[str, Any]:
    """exists / digest of repository:tag from ECR DescribeImages (a missing repository is a missing image)."""
    kwargs: dict[str, Any] = {"repositoryName": repository, "imageIds": [{"imageTag": tag}]}
    if registry_id:
        kwargs["registryId"] = registry_id
    try:
        details = client.describe_images(**kwargs).get("imageDetails", [])
    except Exception as exc:  # botocore ClientError; its code decides
        code = getattr(exc, "response", {}).get("Error", {}).get("Code", "")
        if code in ("ImageNotFoundException", "RepositoryNotFoundException"):
            return {"exists": False, "digest": "", "reason": f"{code.replace('Exception', '')}: {repository}:{tag}"}
        raise
    if not details:
        return {"exists": False, "digest": "", "reason": f"ECR has no image {repository}:{tag}"}
    return {"exists": True, "digest": details[0].get("imageDigest", ""), "reason": "ECR DescribeImages"}


def ecr_login(client: Any, registry_id: str | None = None) -> dict[str, Any]:
    """User, password and registry host from ECR GetAuthorizationToken (the token is the password)."""
    kwargs = {"registryIds": [registry_id]} if registry_id else {}
    data = client.get_authorization_token(**kwargs).get("authorizationData") or []
    if not data:
        raise RegistryError("ECR GetAuthorizationToken returned no authorization data")
    decoded = base64.b64decode(data[0]["authorizationToken"]).decode("utf-8")
    username, sep, password = decoded.partition(":")
    if not sep or not password:
        raise RegistryError("ECR GetAuthorizationToken returned a token that is not user:password")
    proxy = data[0].get("proxyEndpoint", "")
    expires = data[0].get("expiresAt")
    return {
        "username": username,
        "password": password,
        "proxy_endpoint": proxy,
        "registry": urllib.parse.urlsplit(proxy).netloc if "://" in proxy else proxy,
        "expires_at": expires.isoformat() if hasattr(expires, "isoformat") else str(expires or ""),
    }


# --------------------------------------------------------------------------- registry API v2
def _basic(username: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()


def _challenge(header: str) -> tuple[str, dict[str, str]]:
    """('bearer', {'realm': ..., 'service': ..., 'scope': ...}) from a WWW-Authenticate header."""
    parts = header.strip().partition(" ")
    scheme, rest = parts[0], parts[2]
    params = dict(re.findall(r'(\w+)="([^"]*)"', rest))
    return scheme.lower(), params


def _open(url: str, method: str, headers: dict[str, str], timeout: float, validate_certs: bool) -> Any:
    from ansible.module_utils.urls import open_url  # imported here so unit tests need only an opener

    return open_url(
        url, method=method, headers=headers, timeout=timeout, validate_certs=validate_certs, follow_redirects="safe"
    )


def v2_manifest(
    registry: str,
    repository: str,
    tag: str,
    *,
    insecure: bool = False,
    username: str = "",
    password: str = "",
    validate_certs: bool = True,
    timeout: float = 10,
    opener: Callable[..., Any] | None = None,
) -> dict[str, Any]:
    """exists / digest of repository:tag from HEAD /v2/<repository>/manifests/<tag>.

    A 401 is answered once: Basic with the credentials, or a Bearer token from the challenge's realm.
    opener(url, method, headers, timeout, validate_certs) returns a response or raises HTTPError / URLError.
    """
    open_ = opener or _open
    scheme = "http" if insecure else "https"
    url = f"{scheme}://{registry}/v2/{repository}/manifests/{urllib.parse.quote(tag)}"

    def request(target: str, method: str = "HEAD", authorization: str = "") -> Any:
        headers = {"Accept": MANIFEST_ACCEPT} if method == "HEAD" else {}
        if authorization:
            headers["Authorization"] = authorization
        return open_(target, method, headers, timeout, validate_certs)

    try:
        try:
            resp = request(url)
        except urllib.error.HTTPError as exc:
            if exc.code != 401:
                raise
            resp = request(
                url, authorization=_authorization(exc.headers.get("WWW-Authenticate", ""), username, password, request)
            )
        digest = resp.headers.get("Docker-Content-Digest", "")
        return {"exists": True, "digest": digest, "reason": f"HEAD {url}: {getattr(resp, 'status', 200)}"}
    except urllib.error.HTTPError as exc:
        if exc.code == 404:
            return {"exists": False, "digest": "", "reason": f"HEAD {url}: 404 (no such manifest)"}
        if exc.code in (401, 403):
            raise RegistryError(
                f"registry {registry} refused HEAD {url} (HTTP {exc.code}): set the registry credentials"
            ) from None
        raise RegistryError(f"registry {registry} answered HEAD {url} with HTTP {exc.code}") from None
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise RegistryError(f"registry {registry} did not answer HEAD {url}: {reason}") from None


def _unauthorized(why: str) -> urllib.error.HTTPError:
    return urllib.error.HTTPError("", 401, why, None, None)  # type: ignore[arg-type]


def _authorization(header: str, username: str, password: str, request: Callable[..., Any]) -> str:
    scheme, params = _challenge(header)
    if scheme == "basic":
        if not username:
            raise _unauthorized("credentials needed")
        return _basic(username, password)
    if scheme == "bearer" and params.get("realm"):
        query = {k: v for k, v in params.items() if k in ("service", "scope")}
        realm = params["realm"] + ("?" + urllib.parse.urlencode(query) if query else "")
        resp = request(realm, "GET", _basic(username, password) if username else "")
        body = json.loads(resp.read().decode("utf-8") or "{}")
        token = body.get("token") or body.get("access_token")
        if not token:
            raise RegistryError(f"the token service {params['realm']} returned no token")
        return "Bearer " + token
    raise _unauthorized(f"unsupported challenge {scheme!r}")


# ------------------------------------------------------------------------------------ result
def image_facts(name: str, registry: str, repository: str, tag: str, found: dict[str, Any]) -> dict[str, Any]:
    """One entry of registry_image_info's `images`."""
    return {
        "name": name,
        "repository": repository,
        "tag": tag,
        "reference": reference(registry, repository, tag),
        "exists": bool(found["exists"]),
        "digest": found.get("digest", ""),
        "reason": found.get("reason", ""),
    }
