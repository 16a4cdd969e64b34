"""Every filter plugin is documented for `ansible-doc -t filter stratum.ops.NAME`, with an example."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import yaml

ANSIBLE_DOC = Path(sys.executable).with_name("ansible-doc")


def ansible_doc(*args: str) -> dict:
    done = subprocess.run(
        [str(ANSIBLE_DOC), "-t", "filter", "--json", *args], capture_output=True, text=True, check=True
    )
    return json.loads(done.stdout)


def test_every_filter_has_documentation_and_an_example():
    listed = ansible_doc("-l", "stratum.ops")
    assert len(listed) >= 10, f"expected the collection's filters, ansible-doc listed {sorted(listed)}"
    undocumented = sorted(name for name, short in listed.items() if not short or short == "UNDOCUMENTED")
    assert not undocumented, f"filters without documentation: {undocumented}"
    docs = ansible_doc(*sorted(listed))
    for name, doc in docs.items():
        assert doc["doc"].get("options", {}).get("_input"), f"{name}: document the filter's input (_input)"
        examples = yaml.safe_load(doc.get("examples") or "")
        assert isinstance(examples, list) and examples, f"{name}: EXAMPLES must be a YAML list of tasks"
        assert any(name in json.dumps(task) for task in examples), f"{name}: an example must use it"
        assert doc.get("return", {}).get("_value"), f"{name}: document what it returns (RETURN._value)"
