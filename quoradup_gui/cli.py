"""The `quoradup` command: the headless twin of the app, on the same core, without Qt.

``quoradup`` alone opens the window. Exit codes: 0 success, 1 unexpected failure, 2 bad
input (the message says what is wrong), 130 cancelled with Ctrl+C.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Callable, Sequence

from .core.errors import JobCancelled, QuoradupError

EXIT_BAD_INPUT = 2


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="quoradup",
        description="Find and remove duplicate questions by meaning. Without a command, opens the window.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    gui = sub.add_parser("gui", help="open the window (the default)")
    gui.add_argument("file", nargs="?")

    inspect = sub.add_parser("inspect", help="detect a file's format, role and columns and summarise it")
    inspect.add_argument("file")
    inspect.add_argument("--json", action="store_true", help="print one JSON object on stdout")

    desktop = sub.add_parser("install-desktop",
                             help="add quoradup to the desktop menu (a .desktop entry and icon under ~/.local/share)")
    desktop.add_argument("--uninstall", action="store_true", help="remove what install-desktop wrote")
    return parser


def cmd_inspect(args: argparse.Namespace) -> int:
    from .core.dataset import load_dataset_view
    from .cli_progress import TerminalContext

    with TerminalContext() as ctx:
        view = load_dataset_view(args.file, ctx)
    if args.json:
        print(json.dumps(view.as_dict(), ensure_ascii=False))
    else:
        print("\n".join(view.describe_lines()))
    return 0


def cmd_install_desktop(args: argparse.Namespace) -> int:
    from .core.desktop import install_desktop_entry, uninstall_desktop_entry

    if args.uninstall:
        for path in uninstall_desktop_entry():
            print(f"removed {path}")
        return 0
    installed = install_desktop_entry()
    print(f"desktop entry: {installed.desktop_file}")
    print(f"icon: {installed.icon_file}")
    print("quoradup is now in the applications menu and offered to open .csv, .tsv and .xlsx files.")
    return 0


def cmd_gui(args: argparse.Namespace) -> int:
    from .gui.app import main as gui_main

    return gui_main([args.file] if getattr(args, "file", None) else [])


COMMANDS: dict[str, Callable[[argparse.Namespace], int]] = {
    "inspect": cmd_inspect,
    "install-desktop": cmd_install_desktop,
    "gui": cmd_gui,
}


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    command = COMMANDS.get(args.command or "gui", cmd_gui)
    try:
        return command(args)
    except QuoradupError as err:
        print(f"quoradup: {err}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except (JobCancelled, KeyboardInterrupt):
        print("quoradup: cancelled", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
