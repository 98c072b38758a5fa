"""The cold-start data of module 0: what the lesson and the guide claim about it, checked on the stored files."""

import json
import statistics
import subprocess
import sys
from pathlib import Path

import pytest

from lambdasim.rules import pricing
from lambdasim.rules.cold_start import DEFAULT_PLATFORM_MS, InitDurationModel
from serverless_course.realities import cold_starts

ROOT = Path(__file__).resolve().parents[2]


def test_the_published_data_set_says_where_and_when_it_comes_from():
    data = cold_starts.published()
    assert data["url"].startswith("https://github.com/maxday/lambda-perf/blob/main/data/")
    assert data["generated_at"].startswith("2025-12-21")
    assert "not an AWS publication" in data["source"]


def test_every_published_runtime_has_ten_cold_starts_at_128_and_1024_mb():
    runs = cold_starts.published_inits()
    assert {r.memory_mb for r in runs} == {128, 1024}
    assert all(len(r.runs_ms) == 10 for r in runs)
    for runtime in {r.runtime for r in runs}:
        assert sorted(r.memory_mb for r in runs if r.runtime == runtime) == [128, 1024]


def test_published_medians_are_the_medians_of_the_stored_runs():
    python = next(r for r in cold_starts.published_inits() if r.runtime == "python3.12" and r.memory_mb == 128)
    assert cold_starts.published_median_ms("python3.12") == statistics.median(python.runs_ms)
    with pytest.raises(KeyError):
        cold_starts.published_median_ms("python3.12", 512)


def test_hello_world_inits_barely_move_with_memory():
    # The lesson and the guide say: within 10 % from 128 MB to 1,024 MB, for every runtime.
    assert all(abs(change) < 0.10 for change in cold_starts.memory_effect().values())


def test_runtimes_order_as_the_lesson_says():
    # Compiled custom runtimes < Python < Node.js < Ruby, .NET and Java (hello world, 128 MB).
    median = cold_starts.published_median_ms
    assert median("rust (provided.al2023)") < median("go (provided.al2023)") < median("python3.12")
    assert median("python3.12") < median("nodejs22.x") < min(median("ruby3.4"), median("dotnet8"), median("java21"))


def test_the_published_model_takes_each_family_from_its_representative():
    model = cold_starts.published_init_model()
    for family, runtime in cold_starts.FAMILY_REPRESENTATIVES.items():
        expected = cold_starts.published_median_ms(runtime)
        assert model.platform_init_ms(runtime=runtime if family != "provided" else "provided.al2023",
                                      memory_mb=128) == pytest.approx(expected)
        # not scaled with memory: the published data shows no such effect
        assert model.platform_init_ms(runtime=runtime if family != "provided" else "provided.al2023",
                                      memory_mb=1769) == pytest.approx(expected)
    # what the data set lacks keeps the simulator's defaults
    assert model.platform_ms["image"] == DEFAULT_PLATFORM_MS["image"]
    assert model.package_ms_per_mib == InitDurationModel().package_ms_per_mib


def test_code_init_scales_with_cpu_share_below_one_vcpu_only():
    assert cold_starts.code_init_ms(100.0, 1769) == 100.0
    assert cold_starts.code_init_ms(100.0, 3008) == 100.0
    assert cold_starts.code_init_ms(100.0, 128) == pytest.approx(100.0 * 1769 / 128)


def test_init_is_the_published_runtime_part_plus_the_scaled_imports():
    runtime_part = cold_starts.published_median_ms("python3.12")
    assert cold_starts.init_ms("python3.12", 1769, 250.0) == pytest.approx(runtime_part + 250.0)
    assert cold_starts.init_ms("python3.12", 512, 250.0) == pytest.approx(runtime_part + 250.0 * 1769 / 512)


def test_the_measurement_file_records_how_it_was_made():
    data = cold_starts.measured()
    assert "fresh interpreter" in data["method"]
    assert data["repetitions"] >= 5
    assert {"python", "machine", "cpus"} <= set(data["machine"])
    assert set(data["versions"]) >= {"boto3", "aws-lambda-powertools", "pydantic", "numpy"}
    for item in cold_starts.measured_imports():
        assert len(item.runs_ms) == data["repetitions"]
        assert item.median_ms == pytest.approx(statistics.median(item.runs_ms), abs=0.01)


def test_measured_dependency_sets_grow_as_the_lesson_says():
    # The bare handler is near free; every real dependency set costs tens to hundreds of ms;
    # all of them together cost the most and load the most code.
    sets = {item.name: item for item in cold_starts.measured_imports()}
    bare = sets.pop("bare handler (json, os)")
    together = sets.pop("all of the above")
    assert bare.median_ms < 5
    assert all(item.median_ms > 10 * max(bare.median_ms, 1) for item in sets.values())
    assert together.median_ms > max(item.median_ms for item in sets.values())
    assert together.module_files_mib > max(item.module_files_mib for item in sets.values())


def test_the_benchmark_measures_what_the_file_names(tmp_path):
    # One repetition of the real benchmark, not written to the committed file.
    script = ROOT / "reference/benchmarks/cold_start_imports.py"
    probe = subprocess.run([sys.executable, "-c", (
        "import importlib.util, json, sys\n"
        f"spec = importlib.util.spec_from_file_location('bench', {str(script)!r})\n"
        "bench = importlib.util.module_from_spec(spec); spec.loader.exec_module(bench)\n"
        "bench.DEPENDENCY_SETS = {k: bench.DEPENDENCY_SETS[k] for k in ('bare handler (json, os)', 'numpy')}\n"
        "print(json.dumps(bench.measure(1)))")], capture_output=True, text=True, check=True)
    result = json.loads(probe.stdout)
    sets = result["dependency_sets"]
    assert set(sets) == {"bare handler (json, os)", "numpy"}
    assert sets["numpy"]["modules_loaded"] > 50 and sets["numpy"]["module_files_mib"] > 1
    assert sets["numpy"]["median_ms"] > sets["bare handler (json, os)"]["median_ms"]
    assert set(sets) <= set(cold_starts.measured()["dependency_sets"])


def _guide_rows(first_cell: str) -> list[list[str]]:
    text = (ROOT / "docs/00-lambda-realities.md").read_text()
    return [[cell.strip() for cell in line.strip("|").split("|")] for line in text.splitlines()
            if line.startswith(f"| {first_cell}")]


def test_the_guide_shows_the_published_medians():
    for run in cold_starts.published_inits():
        label = "java21 (no SnapStart)" if run.runtime == "java21" else run.runtime
        rows = _guide_rows(label + " |")
        if not rows:
            continue  # the guide shows a selection of the runtimes
        column = 1 if run.memory_mb == 128 else 2
        assert rows[0][column] == f"{run.median_ms:,.0f} ms", (label, run.memory_mb)
    assert _guide_rows("python3.12 |") and _guide_rows("java21 (no SnapStart) |")


def test_the_guide_shows_the_measured_imports():
    labels = {"bare handler (json, os)": "`json`, `os`", "numpy": "numpy"}
    for item in cold_starts.measured_imports():
        rows = _guide_rows(labels.get(item.name, item.name) + " |")
        assert rows, item.name
        expected = f"{item.median_ms:.1f} ms" if item.median_ms < 1 else f"{item.median_ms:,.0f} ms"
        assert rows[0][1:] == [expected, str(item.modules_loaded)], item.name


def test_the_guide_prices_the_boto3_handlers_init_as_the_model_does():
    imports = cold_starts.import_ms("boto3 + a DynamoDB client")
    text = " ".join((ROOT / "docs/00-lambda-realities.md").read_text().split())

    def usd_per_million(memory_mb):
        init = cold_starts.init_ms("python3.12", memory_mb, imports)
        return pricing.duration_cost(pricing.gb_seconds(pricing.billed_duration_ms(0, init), memory_mb), "x86_64") * 1e6

    assert (f"${usd_per_million(128):.2f} per million cold starts at 128 MB, "
            f"${usd_per_million(1024):.2f} at 1,024 MB") in text
