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
from typing import TYPE_CHECKING, Any

from config.loader import CONFIG_ERROR_EXIT, ConfigError, ConfigSource, read_config
from console import __version__

if TYPE_CHECKING:
    from config.settings import Settings

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
    parser.add_argument("--read-only", action="store_true",
                        help="refuse every operation that changes a host (as read_only = true in the config)")
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

    generations = commands.add_parser(
        "generations", help="list the hosts' system generations and store use",
        description="List each host's system generations (number, date, NixOS and kernel version, closure size, "
        "current/running/booted) and its store use. Changes nothing.",
    )
    generations.add_argument("hosts", nargs="*", metavar="HOST", help="hosts to list (default: all)")
    generations.add_argument("--json", action="store_true", help="print JSON: a list with one object per host")

    gc = commands.add_parser(
        "gc", help="delete old system generations and collect garbage (preview unless --yes)",
        description="Delete the system generations the policy does not keep, collect garbage and refresh the boot "
        "entries. The current and the booted generation are always kept. Without --yes, only the preview is shown.",
    )
    gc.add_argument("hosts", nargs="*", metavar="HOST", help="hosts to clean (default: all)")
    gc.add_argument("--keep", type=positive_int, metavar="N", help="keep the newest N generations (default: config)")
    gc.add_argument("--older-than", type=days, metavar="D",
                    help="delete only generations older than D days, e.g. 30 or 30d (default: config)")
    gc.add_argument("--dry-run", action="store_true", help="only show the preview (the default without --yes)")
    gc.add_argument("--yes", action="store_true", help="carry it out without asking")

    rollback = commands.add_parser(
        "rollback", help="switch a host to another system generation (preview unless --yes)",
        description="Switch HOST to generation N (default: the one before the current one), now with a safety net "
        "that reverts unless nixdeck confirms over a new connection, or with --boot as the next boot's default.",
    )
    rollback.add_argument("host", metavar="HOST")
    rollback.add_argument("--to", type=positive_int, metavar="N", help="the generation to go to")
    rollback.add_argument("--boot", action="store_true", help="make it the boot default only; switch nothing now")
    rollback.add_argument("--yes", action="store_true", help="carry it out without asking")
    return parser


def positive_int(text: str) -> int:
    if not (text.isascii() and text.isdigit()) or int(text) < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number of at least 1")
    return int(text)


def days(text: str) -> float:
    number = text.removesuffix("d")
    try:
        value = float(number)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of days, such as 30 or 30d") from None
    if not value >= 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of days, such as 30 or 30d")
    return value


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    overrides: dict[str, Any] = {}
    if args.refresh_interval is not None:
        overrides["refresh_interval"] = args.refresh_interval
    if args.read_only:
        overrides["read_only"] = True
    try:
        source = read_config(args.config, overrides)
        if args.command is None:
            return run_console(source)
        settings = source.settings()
        if args.command != "status":
            return run_operation(args, settings)
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


def run_operation(args: argparse.Namespace, settings: Settings) -> int:
    from console import opscli

    try:
        if args.command == "generations":
            return opscli.generations_command(settings, args.hosts, args.json)
        if args.command == "gc":
            return opscli.gc_command(settings, args.hosts, args.keep, args.older_than, args.yes and not args.dry_run)
        return opscli.rollback_command(settings, args.host, args.to, args.boot, args.yes)
    except opscli.UnknownHost as exc:
        print(f"nixdeck: {exc}", file=sys.stderr)
        return CONFIG_ERROR_EXIT
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED


def run_console(source: ConfigSource) -> int:
    """The live console; it validates the settings itself, after its first frame."""
    from console.app import NixdeckApp

    app = NixdeckApp(source)
    app.run()
    return app.return_code or EXIT_OK
