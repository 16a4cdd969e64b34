"""awx/surveys/*.json: one AWX survey per playbook, every question a real, compatible input of the playbook's role.

The surveys are data AWX reads; nothing else would notice a renamed role variable or a dropped action choice
until an on-call engineer launched the job template.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[3]
SURVEYS = REPO / "awx" / "surveys"
PLAYBOOKS = REPO / "playbooks"
AWX_TYPES = {"text", "textarea", "password", "integer", "float", "multiplechoice", "multiselect"}
# Survey type -> argument_specs types it may feed (AWX sends multiplechoice answers as strings).
COMPATIBLE = {
    "text": {"str", "raw", "path"},
    "textarea": {"str", "raw"},
    "password": {"str", "raw"},
    "integer": {"int", "raw"},
    "float": {"float", "raw"},
    "multiplechoice": {"str", "bool", "raw"},
    "multiselect": {"list"},
}


def playbook_inputs(playbook: Path) -> tuple[dict, set[str]]:
    """(the role's main argument spec options, variables the play itself maps, e.g. version -> deploy_version)."""
    plays = yaml.safe_load(playbook.read_text())
    # The runbook role is named after the playbook; others (preflight, notify) wrap it and ask nothing.
    roles = {r["role"].rsplit(".", 1)[-1] for play in plays for r in play.get("roles", [])}
    role = playbook.stem
    assert role in roles, f"{playbook.name}: expected the role {role}, got {sorted(roles)}"
    spec = yaml.safe_load((REPO / "roles" / role / "meta" / "argument_specs.yml").read_text())
    mapped = set()
    for play in plays:
        for value in (play.get("vars") or {}).values():
            text = str(value)
            if "{{" in text:
                mapped.add(text.split("{{", 1)[1].split("|", 1)[0].split("}}", 1)[0].strip())
    return spec["argument_specs"]["main"]["options"], mapped


def test_every_playbook_has_a_survey_and_every_survey_a_playbook():
    assert sorted(p.stem for p in SURVEYS.glob("*.json")) == sorted(p.stem for p in PLAYBOOKS.glob("*.yml"))


@pytest.mark.parametrize("survey", sorted(SURVEYS.glob("*.json")), ids=lambda p: p.stem)
def test_questions_are_inputs_of_the_role_with_compatible_types(survey):
    doc = json.loads(survey.read_text())
    assert doc["name"] and doc["description"] and isinstance(doc["spec"], list)
    options, mapped = playbook_inputs(PLAYBOOKS / f"{survey.stem}.yml")
    seen = set()
    for question in doc["spec"]:
        var, kind = question["variable"], question["type"]
        assert var not in seen, f"{survey.stem}: {var} asked twice"
        seen.add(var)
        assert kind in AWX_TYPES, f"{survey.stem}: {var} has unknown type {kind}"
        assert question["question_name"] and isinstance(question["required"], bool)
        if var in mapped:
            continue  # a play variable such as deploy.yml's `version`
        assert var in options, f"{survey.stem}: {var} is not an input of the role"
        option = options[var]
        declared = option.get("type", "str")
        assert declared in COMPATIBLE[kind], f"{survey.stem}: {var} is {declared}, asked as {kind}"
        if kind == "multiselect":
            allowed = option.get("choices")
            assert allowed, f"{survey.stem}: {var} offers choices the role does not declare"
            assert set(question["choices"]) <= set(allowed), f"{survey.stem}: {var} offers {question['choices']}"
        if kind == "multiplechoice" and option.get("type") == "bool":
            assert set(question["choices"]) == {"true", "false"}
        if question["required"]:
            assert question.get("default") in ("", None), f"{survey.stem}: required {var} must not have a default"


def test_the_deploy_survey_asks_for_the_version_the_playbook_validates():
    doc = json.loads((SURVEYS / "deploy.json").read_text())
    version = next(q for q in doc["spec"] if q["variable"] == "version")
    assert version["required"] is True and version["type"] == "text" and version["min"] >= 1
    assert "version" in playbook_inputs(PLAYBOOKS / "deploy.yml")[1]


def test_actions_are_never_preselected():
    # A survey must not turn a triage run into a fix: every action list starts empty.
    for survey in SURVEYS.glob("*.json"):
        for question in json.loads(survey.read_text())["spec"]:
            if question["variable"].endswith("_actions") and survey.stem != "db_migration":
                assert question.get("default") in ("", None, []), f"{survey.stem}: {question['variable']} preselected"
