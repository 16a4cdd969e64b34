"""module_utils/registry.py: image names, ECR answers, the registry v2 manifest request (fake clients)."""

from __future__ import annotations

import base64
import datetime
import io
import urllib.error

import pytest
from ansible_collections.stratum.ops.plugins.module_utils import registry
from ansible_collections.stratum.ops.plugins.module_utils.validation import InvalidOption


@pytest.mark.parametrize(
    ("image", "host", "expected"),
    [
        ("stratum/api", "", "stratum/api"),
        ("stratum/api:1.2.0", "", "stratum/api"),
        ("registry:5000/stratum/api:1.2", "", "stratum/api"),
        ("123.dkr.ecr.eu-west-1.amazonaws.com/stratum/api", "", "stratum/api"),
        ("localhost/stratum/api@sha256:" + "a" * 64, "", "stratum/api"),
        ("reg.example/stratum/api", "reg.example", "stratum/api"),
    ],
)
def test_repository_name(image, host, expected):
    assert registry.repository_name(image, host) == expected


def test_repository_name_refuses_what_is_not_an_image():
    with pytest.raises(registry.RegistryError, match="not an image name"):
        registry.repository_name("Stratum/API")


@pytest.mark.parametrize("value", ["reg.example.com", "127.0.0.1:5000", "", None])
def test_registry_url_accepts_host_and_port(value):
    assert registry.check_registry_url("url", value) == value


@pytest.mark.parametrize("value", ["https://reg.example.com", "reg.example.com/path", "reg:99999", "user@reg"])
def test_registry_url_refuses_scheme_path_and_bad_port(value):
    with pytest.raises(InvalidOption, match=r"^url "):
        registry.check_registry_url("url", value)


class FakeEcr:
    def __init__(self, details=None, error_code=""):
        self.details = details or []
        self.error_code = error_code
        self.calls = []

    def describe_images(self, **kwargs):
        self.calls.append(kwargs)
        if self.error_code:
            exc = Exception(self.error_code)
            exc.response = {"Error": {"Code": self.error_code}}
            raise exc
        return {"imageDetails": self.details}

    def get_authorization_token(self, **kwargs):
        self.calls.append(kwargs)
        token = base64.b64encode(b"AWS:secret-token").decode()
        return {
            "authorizationData": [
                {
                    "authorizationToken": token,
                    "proxyEndpoint": "https://1.dkr.ecr.eu-west-1.amazonaws.com",
                    "expiresAt": datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC),
                }
            ]
        }


def test_ecr_image_found_with_its_digest():
    ecr = FakeEcr(details=[{"imageDigest": "sha256:abc"}])
    assert registry.ecr_image(ecr, "stratum/api", "1.0.0", "42")["digest"] == "sha256:abc"
    assert ecr.calls == [{"repositoryName": "stratum/api", "imageIds": [{"imageTag": "1.0.0"}], "registryId": "42"}]


@pytest.mark.parametrize("code", ["ImageNotFoundException", "RepositoryNotFoundException"])
def test_ecr_missing_image_or_repository_is_missing(code):
    found = registry.ecr_image(FakeEcr(error_code=code), "stratum/api", "7.7.7")
    assert found["exists"] is False and "7.7.7" in found["reason"]


def test_ecr_other_errors_are_not_a_missing_image():
    with pytest.raises(Exception, match="AccessDenied"):
        registry.ecr_image(FakeEcr(error_code="AccessDeniedException"), "stratum/api", "1.0.0")


def test_ecr_login_decodes_user_and_token():
    login = registry.ecr_login(FakeEcr())
    assert login["username"] == "AWS" and login["password"] == "secret-token"
    assert login["registry"] == "1.dkr.ecr.eu-west-1.amazonaws.com"
    assert login["expires_at"].startswith("2026-01-01")


class Response:
    def __init__(self, status=200, headers=None, body=b""):
        self.status = status
        self.headers = headers or {}
        self._body = body

    def read(self):
        return self._body

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def http_error(url, code, headers=None):
    return urllib.error.HTTPError(url, code, "x", headers or {}, io.BytesIO(b""))


def test_v2_manifest_found_asks_for_the_manifest_types():
    seen = []

    def opener(url, method, headers, timeout, validate_certs):
        seen.append((url, method, headers))
        return Response(headers={"Docker-Content-Digest": "sha256:def"})

    found = registry.v2_manifest("reg:5000", "stratum/api", "1.0.0", insecure=True, opener=opener)
    assert found == {"exists": True, "digest": "sha256:def", "reason": found["reason"]}
    url, method, headers = seen[0]
    assert url == "http://reg:5000/v2/stratum/api/manifests/1.0.0" and method == "HEAD"
    assert "application/vnd.docker.distribution.manifest.v2+json" in headers["Accept"]
    assert "application/vnd.oci.image.index.v1+json" in headers["Accept"]


def test_v2_manifest_missing_is_a_404():
    def opener(url, *args):
        raise http_error(url, 404)

    assert registry.v2_manifest("reg", "stratum/api", "7.7.7", opener=opener)["exists"] is False


def test_v2_manifest_answers_a_bearer_challenge_with_a_token():
    calls = []

    def opener(url, method, headers, timeout, validate_certs):
        calls.append(url)
        if "token" in url:
            assert headers["Authorization"].startswith("Basic ")
            return Response(body=b'{"token": "t0k"}')
        if "Authorization" not in headers:
            challenge = 'Bearer realm="https://auth.example/token",service="reg",scope="repository:stratum/api:pull"'
            raise http_error(url, 401, {"WWW-Authenticate": challenge})
        assert headers["Authorization"] == "Bearer t0k"
        return Response(headers={"Docker-Content-Digest": "sha256:1"})

    found = registry.v2_manifest("reg", "stratum/api", "1.0.0", username="u", password="p", opener=opener)
    assert found["digest"] == "sha256:1"
    assert calls[1] == "https://auth.example/token?service=reg&scope=repository%3Astratum%2Fapi%3Apull"


def test_v2_manifest_without_credentials_names_what_to_set():
    def opener(url, *args):
        raise http_error(url, 401, {"WWW-Authenticate": 'Basic realm="reg"'})

    with pytest.raises(registry.RegistryError, match="set the registry credentials"):
        registry.v2_manifest("reg", "stratum/api", "1.0.0", opener=opener)


def test_v2_manifest_unreachable_registry_is_a_clear_error():
    def opener(url, *args):
        raise urllib.error.URLError("connection refused")

    with pytest.raises(registry.RegistryError, match="did not answer"):
        registry.v2_manifest("reg", "stratum/api", "1.0.0", opener=opener)
