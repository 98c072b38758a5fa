"""Loads the lab grader for every lab: points per test, the `submission` fixture,
`--submission DIR` and `--results-json FILE` (see reference/src/labgrader/plugin.py)."""

pytest_plugins = ["labgrader.plugin"]
