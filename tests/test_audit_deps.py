"""scripts/audit_deps.py: a known vulnerability fails, an ignored one (with its reason) does
not, and an audit the service did not answer is never taken for a clean one."""

import importlib.util
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parent.parent / "scripts" / "audit_deps.py"
spec = importlib.util.spec_from_file_location("audit_deps", SCRIPT)
audit = importlib.util.module_from_spec(spec)
spec.loader.exec_module(audit)


def _dep(name, *vulns):
    return {"name": name, "version": "1.0", "vulns": list(vulns)}


def _vuln(vid, aliases=()):
    return {"id": vid, "fix_versions": ["1.1"], "aliases": list(aliases), "description": ""}


def test_a_known_python_vulnerability_fails(monkeypatch):
    monkeypatch.setattr(audit, "IGNORED", {})
    report = {"dependencies": [_dep("django", _vuln("PYSEC-2026-1")), _dep("celery")]}
    status, lines = audit.python_verdict(report)
    assert status == audit.VULNERABLE
    assert lines == ["django 1.0: PYSEC-2026-1 (fixed in: 1.1)"]


def test_an_ignored_vulnerability_by_id_or_alias_passes(monkeypatch):
    monkeypatch.setattr(audit, "IGNORED", {"CVE-2026-9": "only the admin's GIS widget, unused"})
    report = {
        "dependencies": [_dep("django", _vuln("PYSEC-2026-1", ["CVE-2026-9"])), _dep("celery")]
    }
    assert audit.python_verdict(report)[0] == audit.AUDITED


@pytest.mark.parametrize(
    "deps",
    [
        [],
        [{"name": "django", "skip_reason": "not found on PyPI, could not be audited"}],
        [_dep("celery"), {"name": "django", "skip_reason": "could not be audited"}],
    ],
    ids=["nothing", "all-skipped", "some-skipped"],
)
def test_an_audit_the_service_did_not_answer_is_not_clean(deps):
    status, lines = audit.python_verdict({"dependencies": deps})
    assert status == audit.NOT_AUDITED
    assert "could not audit" in lines[0]


def test_npm_verdicts():
    unreachable = {"message": "405 Method Not Allowed - POST .../advisories/bulk", "error": {}}
    assert audit.npm_verdict(unreachable)[0] == audit.NOT_AUDITED
    clean = {"vulnerabilities": {}, "metadata": {"dependencies": {"prod": 7}}}
    assert audit.npm_verdict(clean) == (
        audit.AUDITED,
        ["7 front-end packages audited: no known vulnerability"],
    )
    advisory = {"title": "Prototype pollution", "url": "https://github.com/advisories/GHSA-x"}
    bad = {"vulnerabilities": {"leaflet": {"range": "<1.9.5", "via": [advisory]}}}
    assert audit.npm_verdict(bad)[0] == audit.VULNERABLE


def test_the_script_exits_non_zero_when_a_service_is_unreachable(monkeypatch, capsys):
    def fake_run(cmd):
        if "pip_audit" in cmd:
            return {"dependencies": [_dep("django")]}
        return {"message": "network unreachable", "error": {}}

    monkeypatch.setattr(audit, "_run_json", fake_run)
    assert audit.main() == audit.NOT_AUDITED
    assert "DEPENDENCY AUDIT NOT DONE" in capsys.readouterr().err
