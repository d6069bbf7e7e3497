"""`plgl` on the command line: one subcommand per job, each defined in the module that does it."""

from __future__ import annotations

import argparse
import importlib
from collections.abc import Sequence

# name -> module with HELP, add_arguments(parser) and run(args) -> exit code. The modules import
# their heavy dependencies inside run() and the packages export lazily (plgl._lazy), so that the
# help pages load no torch, scikit-learn or FastAPI (tests/test_cli.py, benchmarks/cli_startup.py).
COMMANDS = {
    "demo": "plgl.demo",
    "bench": "plgl.bench.command",
    "serve": "plgl.server.command",
    "pregenerate": "plgl.cache.command",
    "population": "plgl.population.command",
}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="plgl", description="Learn what a person likes from swipes."
    )
    subcommands = parser.add_subparsers(dest="command", required=True)
    modules = {name: importlib.import_module(path) for name, path in COMMANDS.items()}
    for name, module in modules.items():
        sub = subcommands.add_parser(name, help=module.HELP, description=module.__doc__)
        module.add_arguments(sub)
    args = parser.parse_args(argv)
    try:
        return int(modules[args.command].run(args))
    except ValueError as error:  # bad option values: a message, not a traceback
        parser.error(str(error))


if __name__ == "__main__":
    raise SystemExit(main())
