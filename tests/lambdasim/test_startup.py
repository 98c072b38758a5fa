"""What a process pays to start the simulator (BLUEPRINT "Speed": under 1 s): only the modules
it uses. Each check runs in a fresh interpreter, as a notebook kernel or a grading process does.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

TEMPLATE = Path(__file__).parent / "fixtures" / "sam" / "event_invoke_config" / "template.yaml"


def _fresh(code: str) -> dict:
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_starting_imports_neither_cloudformation_nor_the_iri_parser():
    """moto's CloudFormation (every service's models, EC2's among them: 1-3 s) waits for a
    template; jsonschema (held at 4.24 in requirements.txt) and nbformat, which every pytest
    process, kernel and grading run imports, do not load `rfc3987_syntax`, whose Lark parsers
    cost 1.3 s an import (jsonschema 4.25's format-nongpl extra)."""
    seen = _fresh("""
import json, sys
from lambdasim import Simulator
with Simulator():
    loaded = {m: m in sys.modules for m in ("moto.cloudformation.parsing", "moto.ec2.models")}
import jsonschema, nbformat
loaded["rfc3987_syntax"] = "rfc3987_syntax" in sys.modules
print(json.dumps(loaded))
""")
    assert seen == {"moto.cloudformation.parsing": False, "moto.ec2.models": False, "rfc3987_syntax": False}


def test_cloudformation_patches_apply_when_a_simulation_first_imports_it():
    """A template deployed in a process that had not imported moto's CloudFormation still gets
    the simulator's resources (AWS::Lambda::EventInvokeConfig, which moto lacks), and stopping
    puts moto's own function back."""
    seen = _fresh(f"""
import json, sys, boto3
from lambdasim import Simulator
with Simulator() as sim:
    stack = sim.deploy({str(TEMPLATE)!r}, validate=False)
    config = boto3.client("lambda").get_function_event_invoke_config(
        FunctionName=stack.function_names["Fn"], Qualifier="$LATEST")
    import moto.cloudformation.parsing as parsing
    patched = hasattr(parsing.resource_class_from_type, "__wrapped__")
print(json.dumps({{"retries": config["MaximumRetryAttempts"], "patched": patched,
                  "restored": not hasattr(parsing.resource_class_from_type, "__wrapped__"),
                  "rfc3987_syntax": "rfc3987_syntax" in sys.modules}}))
""")
    assert seen == {"retries": 1, "patched": True, "restored": True, "rfc3987_syntax": False}
