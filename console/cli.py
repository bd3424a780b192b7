"""The `nixdeck` command: parse the command line, load the settings, and run
the console or a scripting subcommand.

The Textual app is imported only when the console starts, so `nixdeck status`
and `nixdeck --help` stay fast.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from config.loader import CONFIG_ERROR_EXIT, ConfigError, ConfigSource, read_config
from console import __version__

EXIT_OK = 0
EXIT_UNREACHED = 1
EXIT_INTERRUPTED = 130


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="nixdeck",
        description="A terminal operations console for a fleet of NixOS machines. "
        "Without a command it opens the live console.",
        epilog="Config file: --config, else $NIXDECK_CONFIG, else $XDG_CONFIG_HOME/nixdeck/config.toml "
        "(~/.config/nixdeck/config.toml). With none, nixdeck watches this machine.",
    )
    parser.add_argument("--version", action="version", version=f"nixdeck {__version__}")
    parser.add_argument("--config", type=Path, metavar="FILE", help="read the settings from FILE")
    parser.add_argument(
        "--refresh-interval", type=float, metavar="SECONDS", help="seconds between metric samples (overrides the config)"
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    status = commands.add_parser(
        "status",
        help="connect to every host, print one snapshot, exit 0 only if all were reached",
        description="Connect to every host at once, print one snapshot and exit: 0 if every host was reached, 1 if not, 2 for a config error.",
    )
    status.add_argument("--json", action="store_true", help="print JSON: a list with one object per host")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    overrides: dict[str, Any] = {}
    if args.refresh_interval is not None:
        overrides["refresh_interval"] = args.refresh_interval
    try:
        source = read_config(args.config, overrides)
        if args.command is None:
            return run_console(source)
        settings = source.settings()
    except ConfigError as exc:
        print(f"nixdeck: {exc}", file=sys.stderr)
        return CONFIG_ERROR_EXIT

    from console.status import all_reached, render_json, render_table, take_snapshot

    try:
        monitors = asyncio.run(take_snapshot(settings))
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
    print(render_json(monitors) if args.json else render_table(monitors))
    return EXIT_OK if all_reached(monitors) else EXIT_UNREACHED


def run_console(source: ConfigSource) -> int:
    """The live console; it validates the settings itself, after its first frame."""
    from console.app import NixdeckApp

    app = NixdeckApp(source)
    app.run()
    return app.return_code or EXIT_OK
