"""The readiness review: `python -m serverless_course.hardening.review <template> [...]`.

Runs cfn-lint on a CloudFormation or SAM template, then the course's serverless rules
(`readiness_rules`) on the template after the SAM transform, and prints a report: each finding
with its rule, why the rule matters and the AWS page that says so. A finding the template accepts on purpose
is listed under its reason, from the template's metadata:

    Metadata:
      ReadinessReview:
        Accepted:
          - Rule: E9502
            Resources: [OrdersDeadLetterQueue]   # optional: every resource when left out
            Reason: why this template keeps it

The template passes when no cfn-lint error and no course finding is left unaccepted, and every
acceptance still matches a finding (a stale one is reported as `stale-acceptance`: the reason it
gives no longer describes the template). cfn-lint's warnings are printed, and do not fail it. The exit status is 0 for a pass, 1 otherwise.

A policy-as-code scanner (checkov 3.3) was measured and left out: 78 s and 291 MB to install,
about 3 s of CPU a template, generic checks (a VPC for every function, customer-managed keys),
and SAM templates read before the transform, so the roles SAM generates go unseen.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .readiness_rules import RULES

STALE_ACCEPTANCE = "stale-acceptance"


@dataclass(frozen=True)
class Finding:
    rule: str
    title: str
    message: str
    resource: str | None
    line: int
    source_url: str
    why: str
    accepted_because: str | None = None

    @property
    def course_rule(self) -> bool:
        return self.rule in _COURSE_RULES

    @property
    def fails(self) -> bool:
        # cfn-lint's warnings (W...) and informational matches (I...) are shown, not counted.
        return self.accepted_because is None and (self.course_rule or self.rule.startswith("E"))


_COURSE_RULES = {rule.id for rule in RULES} | {STALE_ACCEPTANCE}


@dataclass
class Review:
    template: Path
    findings: list[Finding] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not any(f.fails for f in self.findings)

    def failing(self, rule: str | None = None) -> list[Finding]:
        return [f for f in self.findings if f.fails and (rule is None or f.rule == rule)]

    def report(self) -> str:
        verdict = "PASS" if self.passed else f"FAIL ({len(self.failing())} to fix)"
        lines = [f"Readiness review of {self.template}: {verdict}"]
        sections = (("cfn-lint", [f for f in self.findings if not f.course_rule and f.accepted_because is None]),
                    ("Course rules", [f for f in self.findings if f.course_rule and f.accepted_because is None]),
                    ("Accepted by the template", [f for f in self.findings if f.accepted_because is not None]))
        for heading, findings in sections:
            if not findings:
                continue
            lines.append(f"\n{heading}:")
            rules_shown: set[str] = set()
            for f in findings:
                where = f"{f.resource} (line {f.line})" if f.resource else f"line {f.line}" if f.line else "Metadata"
                lines.append(f"  {f.rule} {where}: {f.message}")
                if f.accepted_because is not None:
                    lines.append(f"        accepted: {f.accepted_because}")
                elif f.course_rule and f.rule not in rules_shown:
                    rules_shown.add(f.rule)
                    lines.append(f"        why: {f.why}")
                    if f.source_url:
                        lines.append(f"        see: {f.source_url}")
        return "\n".join(lines)


def _accepted(template: dict[str, Any]) -> list[dict[str, Any]]:
    metadata = template.get("Metadata") or {}
    entries = (metadata.get("ReadinessReview") or {}).get("Accepted") or []
    for entry in entries:
        if not str(entry.get("Reason", "")).strip():
            raise ValueError(f"an accepted finding without a reason: {entry!r}")
    return list(entries)


def _accepted_because(rule: str, resource: str | None, accepted: list[dict[str, Any]]) -> str | None:
    for entry in accepted:
        if entry.get("Rule") == rule and (not entry.get("Resources") or resource in entry["Resources"]):
            return str(entry["Reason"]).strip()
    return None


def review(template: str | Path, region: str = "us-east-1") -> Review:
    """Review one template file (or the folder holding template.yaml); nothing is deployed."""
    from cfnlint.decode import decode

    from lambdasim.sam import find_template, lint, transformed

    path = find_template(template)
    written, _ = decode(str(path))
    written = written or {}
    accepted = _accepted(written)
    result = Review(Path(template))  # named as the caller named it
    for m in lint(path, region):
        where = list(getattr(m, "path", None) or [])
        resource = str(where[1]) if len(where) > 1 and where[0] == "Resources" else None
        result.findings.append(Finding(
            rule=m.rule.id, title=m.rule.shortdesc, message=m.message, resource=resource,
            line=m.linenumber, source_url=m.rule.source_url, why=m.rule.description,
            accepted_because=_accepted_because(m.rule.id, resource, accepted)))
    if any(f.fails for f in result.findings):
        return result  # a template cfn-lint refuses cannot be transformed reliably
    # The SAM translator warns that a feature toggle it looks up has no configuration offline.
    sam_log = logging.getLogger("samtranslator.feature_toggle")
    level = sam_log.level
    sam_log.setLevel(logging.ERROR)
    try:
        deployed = transformed(path, _stand_ins(written), region=region)
    finally:
        sam_log.setLevel(level)
    for rule in RULES:
        for logical_id, message in rule.check(deployed):
            resource = _written_resource(logical_id, written)
            result.findings.append(Finding(
                rule=rule.id, title=rule.title, message=message, resource=resource,
                line=_line(written, resource), source_url=rule.source_url, why=rule.why,
                accepted_because=_accepted_because(rule.id, resource, accepted)))
    for entry in accepted:
        if not any(_accepted_because(f.rule, f.resource, [entry]) for f in result.findings):
            result.findings.append(Finding(
                rule=STALE_ACCEPTANCE, title="An acceptance that matches no finding",
                message=f"Metadata accepts {entry.get('Rule')} {entry.get('Resources') or ''} but the review "
                        "finds nothing it covers: remove the acceptance", resource=None, line=0,
                source_url="", why="an accepted finding is a decision with a reason; one that no longer "
                                   "applies misleads the next reader"))
    return result


def _stand_ins(written: dict[str, Any]) -> dict[str, str]:
    """A value for each parameter without a default (an alarm stack's names of the resources it
    watches), so the template can be read as deployed: the rules do not read these values."""
    return {name: str(spec.get("MinValue", 1)) if spec.get("Type") == "Number" else f"review-{name}"
            for name, spec in (written.get("Parameters") or {}).items() if "Default" not in spec}


def _written_resource(logical_id: str, written: dict[str, Any]) -> str:
    """The resource the author wrote for `logical_id`: itself, or the SAM resource that generated
    it (SAM names what it generates after it: ProcessorFunctionRole, ProcessorFunctionOrders)."""
    resources = written.get("Resources") or {}
    if logical_id in resources:
        return logical_id
    owners = [name for name in resources if logical_id.startswith(name)]
    return max(owners, key=len) if owners else logical_id


def _line(written: dict[str, Any], resource: str) -> int:
    node = (written.get("Resources") or {}).get(resource)
    mark = getattr(node, "start_mark", None)
    return mark.line + 1 if mark is not None else 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m serverless_course.hardening.review",
                                     description="Readiness review of CloudFormation/SAM templates.")
    parser.add_argument("templates", nargs="+", type=Path)
    parser.add_argument("--region", default="us-east-1")
    args = parser.parse_args(argv)
    reviews = [review(t, args.region) for t in args.templates]
    print("\n\n".join(r.report() for r in reviews))
    return 0 if all(r.passed for r in reviews) else 1


if __name__ == "__main__":
    sys.exit(main())
