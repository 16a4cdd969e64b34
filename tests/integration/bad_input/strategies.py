"""Hypothesis strategies for bad module input, and a seeded way to draw cases from them for one playbook.

Each strategy yields values one module option must refuse. `draw_cases` runs hypothesis deterministically
(derandomize) to collect distinct examples, so one playbook per module holds every case and runs once.
"""

from __future__ import annotations

import json
import string
from typing import Any

from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

SAFE = string.ascii_letters + string.digits + ":-_."
short_text = st.text(SAFE, max_size=8)

# --- numbers -----------------------------------------------------------------------------------------------
bad_port = st.one_of(
    st.integers(max_value=0),
    st.integers(min_value=65536, max_value=10**30),
    st.integers(min_value=65536, max_value=10**6).map(str),  # as text, the way a survey or -e passes it
)
# NaN and infinities arrive as text ("nan"), the only way YAML/JSON can carry them to a module.
non_finite = st.sampled_from(["nan", "inf", "-inf", "NaN", "Infinity", "-Infinity", "1e400"])
bad_timeout = st.one_of(
    non_finite,
    st.floats(max_value=-0.001, allow_nan=False, allow_infinity=False),
    st.floats(min_value=1e7, max_value=1e300),
    st.just(0),
)
bad_int_timeout = st.one_of(
    non_finite,
    st.integers(max_value=-1),
    st.integers(min_value=10**7, max_value=10**30),
)
huge_int = st.integers(min_value=2**63, max_value=10**40)
negative_int = st.integers(max_value=-1)

# --- text --------------------------------------------------------------------------------------------------
nul_text = st.tuples(short_text, short_text).map(lambda t: f"{t[0]}\x00{t[1]}")


class Surrogate(str):
    """A string holding a lone surrogate; the playbook writer passes it through from_json (YAML cannot hold it)."""


surrogate_text = st.tuples(short_text, st.integers(0xD800, 0xDFFF)).map(lambda t: Surrogate(t[0] + chr(t[1])))
bad_text = st.one_of(nul_text, surrogate_text)

# --- hosts and URLs ----------------------------------------------------------------------------------------
label = st.text(string.ascii_lowercase + string.digits, min_size=1, max_size=12)
long_label = st.integers(64, 120).map(lambda n: "h" * n)
long_label_host = st.tuples(label, long_label).map(lambda t: f"{t[0]}.{t[1]}.example")
too_long_host = st.integers(254, 300).map(lambda n: ".".join(["a" * 50] * (n // 51 + 1))[:n].strip("."))
bad_host = st.one_of(long_label_host, too_long_host, nul_text, st.just("not a host"), st.just("-x.example"))


def _url(scheme: str, host: str, port: str = "", path: str = "", query: str = "") -> str:
    return f"{scheme}://{host}{':' + port if port else ''}{path}{'?' + query if query else ''}"


def bad_url(schemes: tuple[str, ...], server_port: int, db_path: bool) -> st.SearchStrategy[str]:
    """URLs naming the throwaway server where possible, each wrong in one way."""
    scheme = st.sampled_from(schemes)
    host = "127.0.0.1"
    options = [
        st.tuples(scheme, st.integers(65536, 999999)).map(lambda t: _url(t[0], host, str(t[1]), "/0")),
        scheme.map(lambda s: _url(s, host, "0", "/0")),
        st.tuples(scheme, long_label_host).map(lambda t: _url(t[0], t[1], str(server_port), "/0")),
        st.tuples(st.sampled_from(["ftp", "unix", "mysql", "file"]), st.just(host)).map(
            lambda t: _url(t[0], t[1], str(server_port), "/0")
        ),
        scheme.map(lambda s: f"{s}:///0"),
    ]
    if db_path:
        not_a_number = st.text(string.ascii_letters + "-_", min_size=1, max_size=8)
        options += [
            st.tuples(scheme, not_a_number).map(lambda t: _url(t[0], host, str(server_port), "/" + t[1])),
            st.tuples(scheme, not_a_number).map(
                lambda t: _url(t[0], host, str(server_port), "/0", "socket_timeout=" + t[1])
            ),
            scheme.map(lambda s: _url(s, host, str(server_port), "/0", "socket_timeout=nan")),
        ]
    return st.one_of(*options)


def http_url(server_port: int) -> st.SearchStrategy[str]:
    """Bad endpoint_url / Kubernetes host values."""
    host = "127.0.0.1"
    return st.one_of(
        st.integers(65536, 999999).map(lambda p: f"http://{host}:{p}"),
        st.just(f"http://{host}:0"),
        long_label_host.map(lambda h: f"http://{h}:{server_port}"),
        st.sampled_from(["not a url", "ftp://127.0.0.1", "127.0.0.1:443", "http://", "https://:80"]),
    )


# --- drawing -----------------------------------------------------------------------------------------------
def draw(strategy: st.SearchStrategy[Any], count: int) -> list[Any]:
    """Up to `count` distinct examples, the same on every run (derandomized hypothesis)."""
    found: list[Any] = []
    keys: set[str] = set()

    @settings(
        max_examples=max(10, count * 4),
        derandomize=True,
        database=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
        deadline=None,
    )
    @given(strategy)
    def collect(value: Any) -> None:
        key = repr(value)
        if len(found) < count and key not in keys:
            keys.add(key)
            found.append(value)

    collect()
    return found


def cases_for(options: dict[str, st.SearchStrategy[Any]], total: int) -> list[tuple[str, Any]]:
    """(option, bad value) pairs, spread evenly over the options, `total` in all (fewer only if exhausted)."""
    per_option = -(-total // len(options))
    drawn = {name: draw(strategy, per_option + 2) for name, strategy in options.items()}
    cases: list[tuple[str, Any]] = []
    while len(cases) < total and any(drawn.values()):
        for name, values in drawn.items():
            if values and len(cases) < total:
                cases.append((name, values.pop(0)))
    return cases


def task_args(args: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Module args for YAML plus task vars: a lone surrogate travels as JSON text decoded by from_json."""
    task_vars: dict[str, Any] = {}

    def convert(value: Any) -> Any:
        if isinstance(value, Surrogate):
            name = f"bad_text_{len(task_vars)}"
            task_vars[name] = json.dumps(str(value))
            return "{{ " + name + " | from_json }}"
        if isinstance(value, list):
            return [convert(v) for v in value]
        if isinstance(value, dict):
            return {k: convert(v) for k, v in value.items()}
        return value

    return {k: convert(v) for k, v in args.items()}, task_vars
