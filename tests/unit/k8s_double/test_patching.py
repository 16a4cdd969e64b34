"""Patch and selector semantics of the Kubernetes API test double (tests/k8s_double/patching.py)."""

from __future__ import annotations

import pytest
from k8s_double.patching import (
    PatchError,
    fields_match,
    json_patch,
    labels_match,
    merge_patch,
    parse_label_selector,
    selector_to_string,
    strategic_merge_patch,
)

POD_SPEC = {
    "containers": [
        {"name": "api", "image": "stratum/api:1", "env": [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}]},
        {"name": "sidecar", "image": "envoy:1"},
    ]
}


def test_strategic_merge_merges_containers_and_env_by_name():
    patch = {
        "containers": [
            {"name": "api", "image": "stratum/api:2", "env": [{"name": "B", "value": "3"}, {"name": "C", "value": "4"}]}
        ]
    }
    out = strategic_merge_patch(POD_SPEC, patch)
    api, sidecar = out["containers"]
    assert api["image"] == "stratum/api:2"
    assert api["env"] == [{"name": "A", "value": "1"}, {"name": "B", "value": "3"}, {"name": "C", "value": "4"}]
    assert sidecar == {"name": "sidecar", "image": "envoy:1"}
    assert POD_SPEC["containers"][0]["image"] == "stratum/api:1"  # input untouched


def test_strategic_merge_delete_directive_and_null_remove():
    patch = {"containers": [{"name": "api", "env": [{"name": "A", "$patch": "delete"}], "image": None}]}
    api = strategic_merge_patch(POD_SPEC, patch)["containers"][0]
    assert api["env"] == [{"name": "B", "value": "2"}]
    assert "image" not in api


def test_strategic_merge_replace_directive_replaces_the_list():
    patch = {"containers": [{"name": "only", "image": "x"}, {"$patch": "replace"}]}
    assert strategic_merge_patch(POD_SPEC, patch)["containers"] == [{"name": "only", "image": "x"}]


def test_merge_patch_replaces_lists_and_deletes_nulls():
    out = merge_patch(POD_SPEC, {"containers": [{"name": "api"}], "restartPolicy": "Always"})
    assert out["containers"] == [{"name": "api"}]
    assert merge_patch({"a": 1, "b": {"c": 2}}, {"b": {"c": None}}) == {"a": 1, "b": {}}


def test_json_patch_operations_and_failed_test():
    doc = {"spec": {"replicas": 1, "template": {"x": 1}}, "metadata": {"annotations": {"a/b": "1"}}}
    out = json_patch(
        doc,
        [
            {"op": "replace", "path": "/spec/replicas", "value": 3},
            {"op": "add", "path": "/spec/list", "value": []},
            {"op": "add", "path": "/spec/list/-", "value": "x"},
            {"op": "remove", "path": "/metadata/annotations/a~1b"},
            {"op": "copy", "from": "/spec/template", "path": "/spec/copy"},
        ],
    )
    assert out["spec"] == {"replicas": 3, "template": {"x": 1}, "list": ["x"], "copy": {"x": 1}}
    assert out["metadata"]["annotations"] == {}
    with pytest.raises(PatchError):
        json_patch(doc, [{"op": "test", "path": "/spec/replicas", "value": 2}])
    with pytest.raises(PatchError):
        json_patch(doc, [{"op": "replace", "path": "/spec/missing", "value": 2}])


def test_label_selectors_equality_and_set_based():
    labels = {"app": "api", "tier": "web", "pod-template-hash": "abc"}
    assert labels_match(labels, parse_label_selector("app=api,tier==web"))
    assert labels_match(labels, parse_label_selector("app in (api, workers),tier notin (db),pod-template-hash,!canary"))
    assert not labels_match(labels, parse_label_selector("app!=api"))
    assert not labels_match(labels, parse_label_selector("app in (workers)"))
    assert not labels_match(labels, parse_label_selector("canary"))
    assert labels_match(labels, parse_label_selector(""))


def test_selector_object_round_trips_to_string():
    selector = {
        "matchLabels": {"app": "api"},
        "matchExpressions": [{"key": "tier", "operator": "In", "values": ["web", "edge"]}],
    }
    text = selector_to_string(selector)
    assert text == "app=api,tier in (web,edge)"
    assert labels_match({"app": "api", "tier": "edge"}, parse_label_selector(text))


def test_field_selectors():
    event = {"involvedObject": {"kind": "Pod", "name": "api-1"}, "metadata": {"name": "e1"}}
    assert fields_match(event, "involvedObject.kind=Pod,involvedObject.name=api-1")
    assert not fields_match(event, "involvedObject.name!=api-1")
