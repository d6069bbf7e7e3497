"""Run a benchmark's measuring function in a fresh process that imports plgl from a given source
tree, so that one script can put two versions of the code side by side (`--src OLD --src NEW`)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent


def run_in_tree(src: Path, module: str, call: str) -> dict[str, Any]:
    """The JSON object that `module.call` (a call written as code, e.g. "child(3, 0)") returns,
    evaluated in a fresh process with plgl imported from `src` and the benchmarks beside it."""
    env = {**os.environ, "PYTHONPATH": f"{src}:{HERE}", "OMP_NUM_THREADS": "1"}
    code = f"import json, {module} as m; print(json.dumps(m.{call}))"
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, check=True, capture_output=True, text=True
    )
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))
