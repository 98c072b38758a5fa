"""Scratch folders (copied code folders, a lab's bad version, the search stand-in's store) go when
the process that made them exits: a learner who runs the lessons again and again, or a test
suite, leaves nothing behind in the temporary directory. A process forked from the maker (a
grading worker) leaves them to it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

MAKE_AND_FORK = """
import os, sys
from serverless_course.code_folders import scratch_folder
folder = scratch_folder("scratch-test-")
(folder / "app.py").write_text("x = 1")
child = os.fork()
if child == 0:
    sys.exit(0)  # a normal exit: its atexit handlers run
os.waitpid(child, 0)
print(folder, (folder / "app.py").is_file())
"""


def test_a_scratch_folder_outlives_a_forked_child_and_goes_with_its_maker() -> None:
    done = subprocess.run([sys.executable, "-c", MAKE_AND_FORK], capture_output=True, text=True, check=True)
    folder, kept_after_child = done.stdout.split()
    assert kept_after_child == "True", "a forked child's exit removed its parent's folder"
    assert not Path(folder).exists(), f"{folder} left behind after its process exited"
