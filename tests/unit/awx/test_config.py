"""awx/config/: generated from the surveys, valid against our schemas, every cross-reference resolved.

The negative tests break a copy of the configuration the way a hand edit would and require
awx/validate.py (what `make awx-check` runs) to reject it, naming the problem.
"""

from __future__ import annotations

import importlib.util
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[3]
AWX = REPO / "awx"


def _module(name: str):
    spec = importlib.util.spec_from_file_location(f"awx_{name}", AWX / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


generate = _module("generate")
validate = _module("validate")
CONFIG = validate.load_config(AWX / "config")
TEMPLATES = {t["name"]: t for t in CONFIG["controller_templates"]}
WORKFLOWS = {w["name"]: w for w in CONFIG["controller_workflows"]}


def test_committed_config_is_what_the_generator_writes(tmp_path):
    proc = subprocess.run(
        [sys.executable, str(AWX / "generate.py"), "--check"], capture_output=True, text=True, check=False
    )
    assert proc.returncode == 0, proc.stderr
    # and --check really compares: a stale file is reported
    shutil.copytree(AWX / "config", tmp_path / "config")
    (tmp_path / "config" / "templates.yml").write_text("---\ncontroller_templates: []\n")
    proc = subprocess.run(
        [sys.executable, str(AWX / "generate.py"), "--check", "--out", str(tmp_path / "config")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 1 and "templates.yml" in proc.stderr


def test_the_configuration_is_valid():
    assert validate.validate(AWX / "config", AWX / "surveys") == []


def test_every_survey_is_embedded_unchanged_from_its_file():
    for template in TEMPLATES.values():
        playbook = Path(template["playbook"]).stem
        survey = json.loads((AWX / "surveys" / f"{playbook}.json").read_text())
        assert template["survey_spec"] == survey, template["name"]


def test_every_changing_template_has_a_check_twin_locks_and_announces():
    catalog = generate.load_catalog()
    for playbook, meta in catalog["playbooks"].items():
        runs = [t for t in TEMPLATES.values() if t["playbook"] == f"playbooks/{playbook}.yml"]
        kinds = sorted(t["job_type"] for t in runs)
        assert kinds == (["check", "run"] if meta["changes"] else ["run"]), playbook
        for t in runs:
            assert t["ask_limit_on_launch"] is False and t["ask_variables_on_launch"] is False
            changing = t["job_type"] == "run" and meta["changes"]
            assert t["allow_simultaneous"] is (not changing), t["name"]
            if changing:
                assert t["notification_templates_started"] == t["notification_templates_success"] == ["Stratum Slack"]
                assert t["notification_templates_error"] == ["Stratum Slack"]
                assert "Stratum Slack webhook" in t["credentials"]


def test_credential_types_keep_secrets_secret_and_inject_what_the_roles_read():
    types = {c["name"]: c for c in CONFIG["controller_credential_types"]}
    assert set(types) == {
        "Stratum Redis",
        "Stratum PostgreSQL",
        "Stratum Celery broker",
        "Stratum Slack webhook",
        "Stratum registry",
    }
    for ctype in types.values():
        secrets = [f for f in ctype["inputs"]["fields"] if f["id"] != "username"]
        assert secrets and all(f["secret"] is True for f in secrets), ctype["name"]
    injected = {name: {k: set(v) for k, v in c["injectors"].items()} for name, c in types.items()}
    assert injected["Stratum Slack webhook"] == {"env": {"STRATUM_SLACK_WEBHOOK_URL"}}
    assert injected["Stratum Redis"] == {"env": {"REDIS_PASSWORD"}}
    assert injected["Stratum PostgreSQL"] == {"env": {"PGPASSWORD", "DATABASE_URL"}}
    assert injected["Stratum Celery broker"] == {"extra_vars": {"incident_celery_backlog_broker_url"}}
    assert injected["Stratum registry"] == {"env": {"STRATUM_REGISTRY_USERNAME", "STRATUM_REGISTRY_PASSWORD"}}
    # every injected name is one a role or inventory reads
    roles_and_inventories = "".join(
        path.read_text()
        for path in [*REPO.glob("roles/*/defaults/main.yml"), *REPO.glob("inventories/*/group_vars/all/*.yml")]
    )
    for kinds in injected.values():
        for names in kinds.values():
            for name in names:
                assert name in roles_and_inventories, f"{name} is injected but nothing reads it"
    # AWX renders the injector; the dispatch role must leave it alone
    assert types["Stratum Redis"]["injectors"]["env"]["REDIS_PASSWORD"] == "{% raw %}{{ redis_password }}{% endraw %}"


def test_one_inventory_and_scm_source_per_environment():
    environments = sorted(p.name for p in (REPO / "inventories").iterdir() if p.is_dir() and p.name != "local")
    sources = {s["source_path"]: s for s in CONFIG["controller_inventory_sources"]}
    assert sorted(sources) == [f"inventories/{env}" for env in environments]
    assert all(s["source"] == "scm" and s["inventory"] == f"Stratum {Path(p).name}" for p, s in sources.items())


def _chain(workflow: dict) -> list[str]:
    nodes = {n["identifier"]: n for n in workflow["simplified_workflow_nodes"]}
    order, current = [], workflow["simplified_workflow_nodes"][0]["identifier"]
    while current:
        order.append(current)
        nxt = nodes[current]["success_nodes"]
        current = nxt[0] if nxt else None
    return order


def test_deploy_workflows_gate_production_and_roll_back_on_failure():
    prod, staging = WORKFLOWS["Stratum deploy (production)"], WORKFLOWS["Stratum deploy (staging)"]
    tail = ["migration_plan", "approve_migration", "migration_apply", "deploy", "smoke"]
    assert _chain(prod) == ["checklist", "approve_release", *tail]
    assert _chain(staging) == ["checklist", *tail]
    nodes = {n["identifier"]: n for n in prod["simplified_workflow_nodes"]}
    assert nodes["deploy"]["failure_nodes"] == ["rollback"] and nodes["smoke"]["failure_nodes"] == ["rollback"]
    assert TEMPLATES[nodes["migration_plan"]["unified_job_template"]]["job_type"] == "check"
    assert nodes["rollback"]["unified_job_template"] == "Stratum Rollback"


def test_incident_workflows_triage_in_check_mode_then_wait_for_a_human():
    incidents = [w for w in WORKFLOWS.values() if w["name"].startswith("Stratum Incident")]
    assert len(incidents) == len(list((REPO / "playbooks").glob("incident_*.yml")))
    for wf in incidents:
        assert _chain(wf) == ["triage", "approve", "act"]
        triage, approve, act = wf["simplified_workflow_nodes"]
        assert TEMPLATES[triage["unified_job_template"]]["job_type"] == "check"
        assert approve["approval_node"]["timeout"] > 0
        assert TEMPLATES[act["unified_job_template"]]["job_type"] == "run"


# ------------------------------------------------------------------ configurations that must FAIL


@pytest.fixture
def broken(tmp_path):
    """A writable copy of awx/config and awx/surveys; edit(file, fn) changes one file's data."""
    shutil.copytree(AWX / "config", tmp_path / "config")
    shutil.copytree(AWX / "surveys", tmp_path / "surveys")

    def edit(name: str, change) -> list[str]:
        path = tmp_path / name
        if path.suffix == ".json":
            data = json.loads(path.read_text())
            change(data)
            path.write_text(json.dumps(data))
        else:
            data = yaml.safe_load(path.read_text())
            change(data)
            path.write_text(yaml.safe_dump(data))
        return validate.validate(tmp_path / "config", tmp_path / "surveys")

    return edit


def _question(data: dict, variable: str) -> dict:
    return next(q for q in data["spec"] if q["variable"] == variable)


def test_a_survey_default_outside_its_choices_fails(broken):
    def change(data):
        _question(data, "secret_rotation_force")["default"] = "yes"

    found = broken("surveys/secret_rotation.json", change)
    assert any("default ['yes'] is not among the choices" in p for p in found), found


def test_a_template_survey_default_outside_its_choices_fails(broken):
    def change(data):
        t = next(t for t in data["controller_templates"] if t["name"] == "Stratum Incident: Redis memory")
        _question(t["survey_spec"], "incident_redis_memory_actions")["default"] = "flushall"

    found = broken("config/templates.yml", change)
    assert any("Stratum Incident: Redis memory" in p and "flushall" in p for p in found), found


def test_an_undefined_credential_type_fails(broken):
    def change(data):
        data["controller_credentials"][0]["credential_type"] = "Stratum Memcached"

    found = broken("config/credentials.yml", change)
    assert any("credential type 'Stratum Memcached' is not defined" in p for p in found), found


def test_an_injector_naming_no_input_fails(broken):
    def change(data):
        data["controller_credential_types"][0]["injectors"]["env"]["REDIS_PASSWORD"] = "{{ redis_passwd }}"

    found = broken("config/credential_types.yml", change)
    assert any("injects redis_passwd, which is not an input" in p for p in found), found


def test_a_workflow_node_naming_a_missing_template_fails(broken):
    def change(data):
        data["controller_workflows"][0]["simplified_workflow_nodes"][0]["unified_job_template"] = "Stratum Smoke"

    found = broken("config/workflows.yml", change)
    assert any("runs 'Stratum Smoke', which is not a template" in p for p in found), found


def test_a_missing_notification_and_a_missing_playbook_fail(broken):
    def change(data):
        data["controller_templates"][1]["notification_templates_error"] = ["Stratum PagerDuty"]
        data["controller_templates"][0]["playbook"] = "playbooks/nope.yml"

    found = broken("config/templates.yml", change)
    assert any("notification 'Stratum PagerDuty' is not defined" in p for p in found), found
    assert any("playbook playbooks/nope.yml does not exist" in p for p in found), found


def test_the_schemas_reject_what_awx_rejects(broken):
    def change(data):
        data["spec"][0]["type"] = "checkbox"
        data["spec"][0]["variable"] = "1st-answer"

    found = broken("surveys/db_migration.json", change)
    assert len(found) == 1 and found[0].startswith("check-jsonschema (survey.json)"), found

    def launch_prompts(data):
        data["controller_templates"][0]["ask_variables_on_launch"] = True

    found = broken("config/templates.yml", launch_prompts)
    assert found and "ask_variables_on_launch" in found[0], found
