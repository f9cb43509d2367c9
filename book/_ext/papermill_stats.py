"""Feed papermill's run times to myst-nb's ``{nb-exec-table}``.

The book's notebooks are executed by papermill (``book/build.py``) and the book is built with
``execute_notebooks: "off"``, so myst-nb has no execution data of its own and its execution
table would be empty. For each notebook page this reads what papermill stored in the
notebook (``metadata.papermill``: end time, duration, whether a cell raised) and gives it to
myst-nb as that page's execution data, method "papermill".
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path


def record(app, doctree) -> None:
    from myst_nb.sphinx_ import NbMetadataCollector

    env = app.env
    path = Path(env.doc2path(env.docname))
    if path.suffix != ".ipynb" or NbMetadataCollector.get_exec_data(env, env.docname):
        return
    meta = json.loads(path.read_text(encoding="utf8")).get("metadata", {}).get("papermill")
    if not meta or not meta.get("end_time"):
        return
    end = datetime.fromisoformat(meta["end_time"].replace("Z", "+00:00"))
    NbMetadataCollector.set_exec_data(env, env.docname, {
        "mtime": end.timestamp(),
        "runtime": meta.get("duration"),
        "method": "papermill",
        "succeeded": not meta.get("exception"),
        "error": "exception" if meta.get("exception") else None,
        "traceback": None,
    })


def setup(app):
    app.connect("doctree-read", record)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
