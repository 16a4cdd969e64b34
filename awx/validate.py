"""Validate the AWX configuration offline: structure with check-jsonschema, cross-references here.

    python awx/validate.py                 # awx/config/ and awx/surveys/ of this checkout
    python awx/validate.py --config DIR    # another config directory (the tests' broken copies)

Exit 0 when valid; otherwise every problem on stderr, one a line, and exit 1.
JSON Schema (awx/schemas/) cannot compare two fields or two files; those rules live in `problems()`.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import re
import sys
from pathlib import Path

import yaml

AWX = Path(__file__).resolve().parent
REPO = AWX.parent
# Credential types AWX ships; a template may use them without defining them here.
BUILTIN_CREDENTIAL_TYPES = {"Machine", "Amazon Web Services", "OpenShift or Kubernetes API Bearer Token", "Vault"}
_INJECTED = re.compile(r"\{\{\s*([a-z_][a-z0-9_]*)\s*\}\}")


def load_config(config_dir: Path) -> dict:
    """Merge awx/config/*.yml into one dict of infra.aap_configuration variables."""
    merged: dict = {}
    for path in sorted(config_dir.glob("*.yml")):
        for key, value in (yaml.safe_load(path.read_text()) or {}).items():
            if key in merged:
                raise ValueError(f"{path.name}: {key} is defined in two files")
            merged[key] = value
    return merged


def _choices(question: dict) -> list[str]:
    choices = question.get("choices") or []
    return choices.splitlines() if isinstance(choices, str) else list(choices)


def survey_problems(where: str, survey: dict) -> list[str]:
    """AWX's survey rules that need two fields at once."""
    out, seen = [], set()
    for q in survey.get("spec", []):
        var, kind, default = q.get("variable"), q.get("type"), q.get("default")
        at = f"{where}: question {var}"
        if var in seen:
            out.append(f"{at} is asked twice")
        seen.add(var)
        lo, hi = q.get("min"), q.get("max")
        if lo is not None and hi is not None and lo > hi:
            out.append(f"{at}: min {lo} > max {hi}")
        if kind in ("multiplechoice", "multiselect"):
            choices = _choices(q)
            if kind == "multiplechoice":
                picked = [] if default in ("", None) else [default]
            elif isinstance(default, list):
                picked = default
            else:
                picked = [d for d in str(default or "").splitlines() if d]
            outside = [d for d in picked if d not in choices]
            if outside:
                out.append(f"{at}: default {outside} is not among the choices {choices}")
        elif kind in ("text", "textarea", "password") and isinstance(default, str) and default:
            if (lo is not None and len(default) < lo) or (hi is not None and len(default) > hi):
                out.append(f"{at}: default {default!r} is outside the length {lo}..{hi}")
        elif kind in ("integer", "float") and isinstance(default, int | float) and not isinstance(default, bool):
            too_low, too_high = lo is not None and default < lo, hi is not None and default > hi
            if too_low or too_high:
                out.append(f"{at}: default {default} is outside {lo}..{hi}")
        if q.get("required") and default not in ("", None, []):
            out.append(f"{at}: a required question has a default, so it never asks")
    return out


def problems(config: dict, repo: Path = REPO) -> list[str]:
    """Cross-references between the configuration's objects and the repository."""
    out: list[str] = []

    def names(key: str) -> set[str]:
        return {item["name"] for item in config.get(key, [])}

    orgs = names("aap_organizations")
    cred_types = names("controller_credential_types") | BUILTIN_CREDENTIAL_TYPES
    creds = {c["name"]: c for c in config.get("controller_credentials", [])}
    notifications = names("controller_notifications")
    inventories = names("controller_inventories")
    projects = names("controller_projects")
    ees = names("controller_execution_environments")
    templates = {t["name"]: t for t in config.get("controller_templates", [])}

    for key in ("controller_credentials", "controller_projects", "controller_inventories", "controller_notifications"):
        for item in config.get(key, []):
            if item.get("organization") not in orgs:
                out.append(f"{key} {item['name']}: organization {item.get('organization')!r} is not defined")

    for ctype in config.get("controller_credential_types", []):
        ids = {f["id"] for f in ctype["inputs"]["fields"]}
        for req in ctype["inputs"].get("required", []):
            if req not in ids:
                out.append(f"credential type {ctype['name']}: required input {req} is not a field")
        for kind in ("env", "extra_vars"):
            for target, expr in ctype["injectors"].get(kind, {}).items():
                for ref in _INJECTED.findall(expr):
                    if ref not in ids:
                        out.append(f"credential type {ctype['name']}: {target} injects {ref}, which is not an input")
    for cred in creds.values():
        if cred["credential_type"] not in cred_types:
            out.append(f"credential {cred['name']}: credential type {cred['credential_type']!r} is not defined")

    for source in config.get("controller_inventory_sources", []):
        if source["inventory"] not in inventories:
            out.append(f"inventory source {source['name']}: inventory {source['inventory']!r} is not defined")
        if source["source_project"] not in projects:
            out.append(f"inventory source {source['name']}: project {source['source_project']!r} is not defined")
        if not (repo / source["source_path"]).is_dir():
            out.append(f"inventory source {source['name']}: {source['source_path']} does not exist")

    def notification_refs(kind: str, obj: dict) -> None:
        for field in ("started", "success", "error", "approvals"):
            for ref in obj.get(f"notification_templates_{field}", []):
                if ref not in notifications:
                    out.append(f"{kind} {obj['name']}: notification {ref!r} is not defined")

    for t in templates.values():
        at = f"template {t['name']}"
        if not (repo / t["playbook"]).is_file():
            out.append(f"{at}: playbook {t['playbook']} does not exist")
        if t["project"] not in projects:
            out.append(f"{at}: project {t['project']!r} is not defined")
        if t.get("inventory") and t["inventory"] not in inventories:
            out.append(f"{at}: inventory {t['inventory']!r} is not defined")
        if t.get("execution_environment") and t["execution_environment"] not in ees:
            out.append(f"{at}: execution environment {t['execution_environment']!r} is not defined")
        for ref in t.get("credentials", []):
            if ref not in creds:
                out.append(f"{at}: credential {ref!r} is not defined")
            elif creds[ref]["credential_type"] not in cred_types:
                out.append(f"{at}: credential {ref!r} has an undefined credential type")
        notification_refs("template", t)
        out += survey_problems(at, t["survey_spec"])
        if t["survey_enabled"] != bool(t["survey_spec"]["spec"]):
            out.append(f"{at}: survey_enabled does not match whether the survey asks anything")
        if t["job_type"] == "run" and not t["allow_simultaneous"]:
            # A changing runbook: announced on Slack, and a check-mode twin shows the plan first.
            for field in ("started", "success", "error"):
                if not t.get(f"notification_templates_{field}"):
                    out.append(f"{at}: a changing template without a {field} notification")
            twins = [o for o in templates.values() if o["playbook"] == t["playbook"] and o["job_type"] == "check"]
            if not twins:
                out.append(f"{at}: no check-mode twin for {t['playbook']}")

    covered = {t["playbook"] for t in templates.values()}
    for playbook in sorted((repo / "playbooks").glob("*.yml")):
        if f"playbooks/{playbook.name}" not in covered:
            out.append(f"playbooks/{playbook.name} has no job template")

    for wf in config.get("controller_workflows", []):
        at = f"workflow {wf['name']}"
        if wf.get("inventory") and wf["inventory"] not in inventories:
            out.append(f"{at}: inventory {wf['inventory']!r} is not defined")
        notification_refs("workflow", wf)
        if wf.get("survey_spec"):
            out += survey_problems(at, wf["survey_spec"])
        nodes = wf["simplified_workflow_nodes"]
        ids = [n["identifier"] for n in nodes]
        if len(ids) != len(set(ids)):
            out.append(f"{at}: node identifiers repeat")
        for n in nodes:
            ujt = n.get("unified_job_template")
            if ujt is not None and ujt not in templates:
                out.append(f"{at}: node {n['identifier']} runs {ujt!r}, which is not a template")
            for link in ("success_nodes", "failure_nodes", "always_nodes"):
                for target in n.get(link, []):
                    if target not in ids:
                        out.append(f"{at}: node {n['identifier']} {link} names {target!r}, which is not a node")
    return out


def schema_check(config_dir: Path, surveys_dir: Path) -> list[str]:
    """check-jsonschema on every config file and survey; its report, when it fails.

    Run in this process (its CLI entry point, the same checks as `check-jsonschema --schemafile ...`): the
    tests validate many broken copies, and a new interpreter for each would cost seconds.
    """
    from check_jsonschema.cli.main_command import main as check_jsonschema

    runs = [
        ("config.json", sorted(config_dir.glob("*.yml"))),
        ("survey.json", sorted(surveys_dir.glob("*.json"))),
    ]
    out = []
    for schema, files in runs:
        if not files:
            continue
        args = ["--schemafile", str(AWX / "schemas" / schema), "--color", "never", *map(str, files)]
        report = io.StringIO()
        with contextlib.redirect_stdout(report), contextlib.redirect_stderr(report):
            try:
                rc = check_jsonschema(args, standalone_mode=False)
            except SystemExit as exc:  # click may still exit on a usage error
                rc = exc.code
        if rc != 0:
            out.append(f"check-jsonschema ({schema}):\n{report.getvalue()}".rstrip())
    return out


def validate(config_dir: Path, surveys_dir: Path, repo: Path = REPO) -> list[str]:
    found = schema_check(config_dir, surveys_dir)
    for survey in sorted(surveys_dir.glob("*.json")):
        found += survey_problems(f"survey {survey.name}", json.loads(survey.read_text()))
    if not found:  # cross-references assume the structure is right
        found += problems(load_config(config_dir), repo)
    return found


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", type=Path, default=AWX / "config")
    parser.add_argument("--surveys", type=Path, default=AWX / "surveys")
    args = parser.parse_args()
    found = validate(args.config, args.surveys)
    for line in found:
        sys.stderr.write(line + "\n")
    if not found:
        sys.stdout.write(f"awx: {args.config} and {args.surveys} valid\n")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
