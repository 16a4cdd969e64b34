"""extensions/eda/rulebooks/: valid for ansible-rulebook, one rule per seed alert, triage only, throttled,
and the local and AWX variants fire on the same conditions.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from ansible_rulebook.validators import Validate

REPO = Path(__file__).resolve().parents[3]
RULEBOOKS = REPO / "extensions/eda/rulebooks"
LOCAL = yaml.safe_load((RULEBOOKS / "alerts_to_triage.yml").read_text())
AWX = yaml.safe_load((RULEBOOKS / "alerts_to_triage_awx.yml").read_text())
ALERT_RULES = [
    r for g in yaml.safe_load((REPO / "extensions/prometheus/alerts.yml").read_text())["groups"] for r in g["rules"]
]
RUNBOOK_OF = {r["alert"]: r["labels"]["runbook"] for r in ALERT_RULES}
AWX_TEMPLATES = {
    t["name"]: t for t in yaml.safe_load((REPO / "awx/config/templates.yml").read_text())["controller_templates"]
}


@pytest.mark.parametrize("rulebook", [LOCAL, AWX], ids=["local", "awx"])
def test_ansible_rulebook_accepts_it(rulebook):
    Validate.rulebook(rulebook)
    assert rulebook[0]["sources"][0]["name"] == "alertmanager"


def _alert_of(rule: dict) -> str:
    condition = rule["condition"]
    assert condition.startswith('event.alert.status == "firing" and event.alert.labels.alertname == "')
    return condition.rsplit('"', 2)[-2]


@pytest.mark.parametrize("rulebook", [LOCAL, AWX], ids=["local", "awx"])
def test_every_seed_alert_once_per_alert_and_service_triage_only(rulebook):
    rules = rulebook[0]["rules"]
    assert sorted(_alert_of(r) for r in rules) == sorted(RUNBOOK_OF)
    for rule in rules:
        assert rule["throttle"] == {
            "once_within": "15 minutes",
            "group_by_attributes": ["event.alert.labels.alertname", "event.alert.labels.service"],
        }
        assert len(rule["action"]) == 1, "one action: the triage"
    assert rulebook[0]["sources"][0]["stratum.ops.alertmanager"]["host_label"] == ""
    assert rulebook[0]["execution_strategy"] == "parallel"


def test_the_local_rulebook_runs_each_alerts_triage_playbook_with_its_labels_and_no_actions():
    for rule in LOCAL[0]["rules"]:
        runbook = RUNBOOK_OF[_alert_of(rule)]
        action = rule["action"]["run_playbook"]
        assert action["name"] == f"stratum.ops.{runbook}"
        assert (REPO / "playbooks" / f"{runbook}.yml").is_file()
        assert action["extra_vars"][f"{runbook}_actions"] == []
        assert action["extra_vars"]["stratum_alert"] == "{{ event.alert.labels }}"


def test_the_awx_rulebook_launches_check_mode_twins_that_exist():
    for rule in AWX[0]["rules"]:
        runbook = RUNBOOK_OF[_alert_of(rule)]
        action = rule["action"]["run_job_template"]
        template = AWX_TEMPLATES[action["name"]]
        assert template["job_type"] == "check" and template["playbook"] == f"playbooks/{runbook}.yml"
        # AWX accepts only what the survey asks (ask_variables_on_launch is off)
        asked = {q["variable"] for q in template["survey_spec"]["spec"]}
        assert set(action["job_args"]["extra_vars"]) <= asked
        assert action["job_args"]["extra_vars"][f"{runbook}_actions"] == []
