"""How long a Python handler module takes to import, for real dependency sets of different sizes.

    .venv/bin/python reference/benchmarks/cold_start_imports.py [--repetitions 9] [--write]

On Lambda, a cold start's INIT phase runs the function's module-level code: its imports and the
clients it creates (https://docs.aws.amazon.com/lambda/latest/dg/lambda-runtime-environment.html).
That part can be measured here. Each dependency set is a handler module's top-level code; each
repetition imports it in a **fresh interpreter** (a new execution environment is a new process
too), timed inside that process with `time.perf_counter`, and records how many modules and
how many bytes of module files the import loaded. One discarded run first writes the bytecode
caches, so every timed run reads `.pyc` files as a package built with them would. The interpreter's
own start (`python -c pass`, timed from outside) is measured the same way.

Without `--write` it prints the medians; with it, it also writes them, with every repetition and
the machine they came from, to `serverless_course/realities/cold_start_imports.json`, which the
cold-start lesson and `serverless_course.realities.cold_starts` read. The numbers are this
machine's: a laptop core is faster than a small Lambda function's share of one.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date
from importlib import metadata
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DATA_FILE = ROOT / "reference/src/serverless_course/realities/cold_start_imports.json"

# A handler module's top-level code, from the smallest dependency set to the largest.
DEPENDENCY_SETS = {
    "bare handler (json, os)": "import json, os",
    "boto3 + a DynamoDB client": (
        "import boto3\n"
        "table_client = boto3.client('dynamodb', region_name='us-east-1')"
    ),
    "Powertools Logger + BatchProcessor": (
        "from aws_lambda_powertools import Logger\n"
        "from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType\n"
        "logger = Logger(service='orders')\n"
        "processor = BatchProcessor(event_type=EventType.SQS)"
    ),
    "Powertools parser (pydantic) + SqsModel": (
        "from aws_lambda_powertools.utilities.parser import parse\n"
        "from aws_lambda_powertools.utilities.parser.models import SqsModel"
    ),
    "numpy": "import numpy",
    "all of the above": (
        "import json, os\n"
        "import boto3\n"
        "import numpy\n"
        "from aws_lambda_powertools import Logger\n"
        "from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType\n"
        "from aws_lambda_powertools.utilities.parser.models import SqsModel\n"
        "table_client = boto3.client('dynamodb', region_name='us-east-1')\n"
        "logger = Logger(service='orders')\n"
        "processor = BatchProcessor(event_type=EventType.SQS)"
    ),
}
DISTRIBUTIONS = ("boto3", "botocore", "aws-lambda-powertools", "pydantic", "numpy")

# Runs in the fresh interpreter: time the import of `handler`, then count what it loaded.
PROBE = """
import json, os, sys, time
sys.path.insert(0, sys.argv[1])
before = set(sys.modules)
start = time.perf_counter()
import handler
elapsed = time.perf_counter() - start
files = {getattr(sys.modules[name], "__file__", None) for name in set(sys.modules) - before}
files = [f for f in files if f and os.path.exists(f)]
print(json.dumps({"ms": elapsed * 1000, "modules": len(set(sys.modules) - before),
                  "bytes": sum(os.path.getsize(f) for f in files)}))
"""


def import_once(folder: Path) -> dict:
    done = subprocess.run([sys.executable, "-c", PROBE, str(folder)], capture_output=True, text=True,
                          check=True, env={**os.environ, "PYTHONDONTWRITEBYTECODE": ""})
    return json.loads(done.stdout)


def interpreter_start_ms() -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", "pass"], check=True)
    return (time.perf_counter() - start) * 1000


def measure(repetitions: int) -> dict:
    sets = {}
    with tempfile.TemporaryDirectory() as scratch:
        for name, source in DEPENDENCY_SETS.items():
            folder = Path(scratch, f"set{len(sets)}")
            folder.mkdir()
            (folder / "handler.py").write_text(source + "\n\n\ndef lambda_handler(event, context):\n    return {}\n")
            import_once(folder)  # writes the bytecode caches; not timed
            runs = [import_once(folder) for _ in range(repetitions)]
            times = [round(r["ms"], 2) for r in runs]
            sets[name] = {"source": source, "import_ms": times, "median_ms": round(statistics.median(times), 2),
                          "modules_loaded": runs[-1]["modules"],
                          "module_files_mib": round(runs[-1]["bytes"] / 2**20, 2)}
            print(f"{sets[name]['median_ms']:8.1f} ms  {sets[name]['module_files_mib']:6.1f} MiB  "
                  f"{sets[name]['modules_loaded']:5d} modules  {name}", file=sys.stderr)
    start_times = [round(interpreter_start_ms(), 2) for _ in range(repetitions)]
    print(f"{statistics.median(start_times):8.1f} ms  interpreter start (python -c pass, wall)", file=sys.stderr)
    return {
        "measured_on": date.today().isoformat(),
        "method": ("each repetition imports the handler module in a fresh interpreter, timed inside it with "
                   "time.perf_counter; bytecode caches written by one discarded run first; median of the "
                   "repetitions; module_files_mib is the size of the module files the import loaded "
                   "(reference/benchmarks/cold_start_imports.py)"),
        "machine": {"python": platform.python_version(), "implementation": platform.python_implementation(),
                    "system": platform.system(), "machine": platform.machine(), "processor": platform.processor(),
                    "cpus": os.cpu_count()},
        "versions": {d: metadata.version(d) for d in DISTRIBUTIONS},
        "repetitions": repetitions,
        "interpreter_start_ms": start_times,
        "interpreter_start_median_ms": round(statistics.median(start_times), 2),
        "dependency_sets": sets,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repetitions", type=int, default=9)
    parser.add_argument("--write", action="store_true", help=f"write {DATA_FILE.relative_to(ROOT)}")
    args = parser.parse_args()
    result = measure(args.repetitions)
    if args.write:
        DATA_FILE.write_text(json.dumps(result, indent=2) + "\n")
        print(f"wrote {DATA_FILE.relative_to(ROOT)}", file=sys.stderr)


if __name__ == "__main__":
    main()
