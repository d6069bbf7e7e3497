"""Put the current benchmark tables and plots into README.md.

    plgl bench --suite all --out bench-out
    python scripts/update_readme_tables.py bench-out

Regenerates the Markdown fragment from bench-out/results.jsonl (report.md's headline tables:
for each problem the metric with a "reach" level, its steps-to-reach table and plot, and the
per-run scalars such as latencies; headings one level down), copies the plots the fragment
shows into docs/bench/, and replaces the text between the `<!-- bench:begin -->` and
`<!-- bench:end -->` lines of README.md with it.
README.md is rewritten only when both markers are present, once each, in that order.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import sys
from pathlib import Path

BEGIN = "<!-- bench:begin -->"
END = "<!-- bench:end -->"
ROOT = Path(__file__).resolve().parents[1]


def splice(readme: str, fragment: str) -> str:
    """README text with everything between the markers replaced by `fragment`.

    >>> splice("a\\n<!-- bench:begin -->\\nold\\n<!-- bench:end -->\\nb\\n", "new\\n")
    'a\\n<!-- bench:begin -->\\nnew\\n<!-- bench:end -->\\nb\\n'
    """
    if (
        readme.count(BEGIN) != 1
        or readme.count(END) != 1
        or readme.index(BEGIN) > readme.index(END)
    ):
        raise ValueError(f"README.md needs one {BEGIN} line followed by one {END} line")
    head, rest = readme.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    return f"{head}{BEGIN}\n{fragment.rstrip()}\n{END}{tail}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out", type=Path, help="the folder `plgl bench --out` wrote")
    parser.add_argument("--readme", type=Path, default=ROOT / "README.md")
    parser.add_argument(
        "--images", type=Path, default=ROOT / "docs" / "bench", help="where the plots go"
    )
    args = parser.parse_args(argv)
    from plgl.bench.report import write_report
    from plgl.bench.results import RESULTS, load_results

    results_path = args.out / RESULTS
    if not results_path.is_file():
        parser.error(f"{results_path} does not exist: run `plgl bench --out {args.out}` first")
    readme = args.readme.read_text(encoding="utf-8")
    try:
        splice(readme, "")  # check the markers before anything is written
    except ValueError as error:
        parser.error(str(error))
    write_report(load_results(results_path), args.out)  # the fragment, fresh from the rows
    fragment = (args.out / "readme-fragment.md").read_text(encoding="utf-8")
    updated = splice(readme, _relink(fragment, args.out, args.images, args.readme.parent))
    args.readme.write_text(updated, encoding="utf-8")
    print(f"updated {args.readme} from {results_path}; plots in {args.images}")
    return 0


def _relink(fragment: str, out: Path, images: Path, base: Path) -> str:
    """Copy each plot the fragment shows into `images`; point its link there (relative)."""
    images.mkdir(parents=True, exist_ok=True)

    def move(match: re.Match[str]) -> str:
        name = match.group(2)
        shutil.copyfile(out / name, images / name)
        return f"![{match.group(1)}]({Path(os.path.relpath(images / name, base)).as_posix()})"

    return re.sub(r"!\[([^\]]*)\]\(([^)/]+\.png)\)", move, fragment)


if __name__ == "__main__":
    sys.exit(main())
