"""Publish the lesson notebooks from the top-level `notebooks/` folder without copying them.

The notebooks live beside `docs/` so that learners open them from one obvious place; this hook
adds each one to the site's files under the URL `notebooks/<module>/<lesson>/`, before
mkdocs-jupyter turns notebook files into pages (hence the high event priority).
"""

from pathlib import Path

from mkdocs.plugins import event_priority
from mkdocs.structure.files import File, Files

NOTEBOOKS_FOLDER = "notebooks"


@event_priority(100)
def on_files(files: Files, config) -> Files:
    project_root = Path(config["config_file_path"]).parent
    for notebook in sorted((project_root / NOTEBOOKS_FOLDER).glob("*/*.ipynb")):
        if ".ipynb_checkpoints" in notebook.parts:
            continue
        files.append(
            File(
                notebook.relative_to(project_root).as_posix(),
                src_dir=str(project_root),
                dest_dir=config["site_dir"],
                use_directory_urls=config["use_directory_urls"],
            )
        )
    return files
