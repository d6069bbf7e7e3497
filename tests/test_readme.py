"""The README's API example runs as written and does what its comments say."""

import ast
import json
import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import plgl


def _run_example() -> tuple[dict[str, Any], dict[str, Any]]:
    """Run the example like a REPL: the namespace, and each expression statement's value keyed
    by its source text (comments stripped)."""
    text = (Path(__file__).parent.parent / "README.md").read_text()
    example = re.search(r"## The API\n\n```python\n(.*?)```", text, re.S)
    assert example is not None
    source = example.group(1)
    namespace: dict[str, Any] = {}
    values: dict[str, Any] = {}
    for statement in ast.parse(source).body:
        code = ast.get_source_segment(source, statement)
        assert code is not None
        if isinstance(statement, ast.Expr):
            expression = compile(ast.Expression(statement.value), "README.md", "eval")
            values.setdefault(code, []).append(eval(expression, namespace))
        else:
            exec(compile(ast.Module([statement], []), "README.md", "exec"), namespace)
    return namespace, values


def test_readme_api_example_does_what_its_comments_say() -> None:
    namespace, values = _run_example()
    items = namespace["items"]
    assert len(items) == 10 and all(isinstance(item, plgl.Item) for item in items)
    assert all(item.latent.shape == (16,) for item in items)

    first, retry = values['s.tell(items[0].id, "like", event_id="e-81f2")']
    assert retry == first  # the retry returns the stored event, not a second one
    assert values['s.tell(items[1].id, "skip", dwell_seconds=0.4)'][0].signal == "skip"

    (scores,) = values["s.score([item.latent for item in items])"]
    assert scores.shape == (10,) and np.all((scores > 0) & (scores < 1))

    (recommended,) = values["s.recommend(10)"]
    assert len(recommended) == 10 and len({item.id for item in recommended}) == 10

    (reversed_latents,) = values["s.reverse(target=0.9, n=5)"]
    assert reversed_latents.shape == (5, 16)
    (reverse_items,) = values["s.reverse_items(0.7, n=5)"]
    assert len(reverse_items) == 5

    body, media_type = values["s.render(items[0].id)"][0]
    assert media_type == "image/svg+xml" and body.lstrip().startswith((b"<svg", b"<?xml"))
    (confidence,) = values["s.confidence"]
    assert 0.0 <= confidence <= 1.0
    assert isinstance(values["s.explain()"][0]["summary"], str)

    (export,) = values["s.export()"]
    assert json.loads(json.dumps(export)) == export  # JSON-native, as claimed
    assert "alice" in json.dumps(export)

    with pytest.raises(plgl.UserDeletedError):  # "gone, and the id cannot come back"
        namespace["s"].ask(1)
    with pytest.raises(plgl.UserDeletedError):
        namespace["engine"].session("alice").ask(1)
