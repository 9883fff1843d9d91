"""Dependency vulnerability audit (run by scripts/run_tests.sh after install, before pytest).

    .venv/bin/python scripts/audit_deps.py            # Python packages of .venv + npm libraries

Python: pip-audit over the packages installed in .venv (what `scripts/stack.sh install`
put there from pyproject.toml: the app's and the test tools'), against the PyPI
vulnerability data. Front end: `npm audit --omit=dev` over package-lock.json.

Exit status:
  0  audited, no known vulnerability (other than those in IGNORED below)
  1  a known vulnerability: upgrade the package (or, if it cannot apply here, add it to
     IGNORED with the reason)
  2  the audit could not be done: the vulnerability service did not answer, or answered
     for only part of the packages. Never taken for "no vulnerability".
"""

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# Vulnerability id (PYSEC-/GHSA-/CVE- as the tool reports it, or an npm advisory URL)
# -> why it does not apply to this project. Each entry needs a reason a reviewer can
# check; remove it once the package is upgraded past the fix.
IGNORED = {}

AUDITED, VULNERABLE, NOT_AUDITED = 0, 1, 2


def _banner(lines):
    bar = "!" * 78
    return "\n".join([bar, *(f"!! {line}" for line in lines), bar])


def python_verdict(report):
    """(status, message lines) from pip-audit's JSON report."""
    deps = report.get("dependencies", [])
    skipped = [d for d in deps if d.get("skip_reason")]
    audited = [d for d in deps if not d.get("skip_reason")]
    found = [
        (d["name"], d["version"], v["id"], ", ".join(v.get("fix_versions") or []) or "none")
        for d in audited
        for v in d.get("vulns", [])
        if v["id"] not in IGNORED and not set(v.get("aliases") or []) & set(IGNORED)
    ]
    if found:
        return VULNERABLE, [
            f"{name} {version}: {vid} (fixed in: {fix})" for name, version, vid, fix in found
        ]
    if not deps or skipped:
        return NOT_AUDITED, [
            f"pip-audit could not audit {len(skipped)} of {len(deps)} Python packages "
            "(the PyPI vulnerability service did not answer for them), e.g.:",
            *(f"  {d['skip_reason']}" for d in skipped[:5]),
        ]
    return AUDITED, [f"{len(audited)} Python packages audited: no known vulnerability"]


def npm_verdict(report):
    """(status, message lines) from `npm audit --json`."""
    if "error" in report or "vulnerabilities" not in report:
        detail = report.get("message") or json.dumps(report.get("error"))[:200]
        return NOT_AUDITED, [f"npm audit could not reach the advisory service: {detail}"]
    found = []
    for name, vuln in report["vulnerabilities"].items():
        advisories = [v for v in vuln.get("via", []) if isinstance(v, dict)]
        for adv in advisories:
            if adv.get("url") not in IGNORED:
                found.append(f"{name} {vuln.get('range', '')}: {adv.get('title')} {adv.get('url')}")
    if found:
        return VULNERABLE, found
    total = report.get("metadata", {}).get("dependencies", {}).get("prod", "?")
    return AUDITED, [f"{total} front-end packages audited: no known vulnerability"]


def _run_json(cmd):
    result = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=600)
    try:
        return json.loads(result.stdout)
    except json.JSONDecodeError:
        tail = (result.stderr or result.stdout).strip().splitlines()[-3:]
        return {"error": " | ".join(tail) or f"exit {result.returncode}, no output"}


def main():
    pip_report = _run_json(
        [sys.executable, "-m", "pip_audit", "--format", "json", "--progress-spinner", "off"]
    )
    if "error" in pip_report:
        py = (NOT_AUDITED, [f"pip-audit failed: {pip_report['error']}"])
    else:
        py = python_verdict(pip_report)
    npm = npm_verdict(_run_json(["npm", "audit", "--omit=dev", "--json"]))
    status = max(py[0], npm[0])
    for verdict, lines in (py, npm):
        if verdict == AUDITED:
            print(f"[audit] {lines[0]}")
    problems = [line for verdict, lines in (py, npm) if verdict != AUDITED for line in lines]
    if status == VULNERABLE:
        print(_banner(["KNOWN VULNERABILITIES in dependencies:", *problems]), file=sys.stderr)
    elif status == NOT_AUDITED:
        print(
            _banner(["DEPENDENCY AUDIT NOT DONE (this is not a clean result):", *problems]),
            file=sys.stderr,
        )
    return status


if __name__ == "__main__":
    sys.exit(main())
