"""The README's API example runs as written."""

import re
from pathlib import Path


def test_readme_api_example_runs() -> None:
    text = (Path(__file__).parent.parent / "README.md").read_text()
    example = re.search(r"## The API\n\n```python\n(.*?)```", text, re.S)
    assert example is not None
    exec(compile(example.group(1), "README.md", "exec"), {})
