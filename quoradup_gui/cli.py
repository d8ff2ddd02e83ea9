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

    mine = sub.add_parser("mine", help="find duplicate clusters in a question collection and export them")
    mine.add_argument("input", help="a question collection (CSV, TSV, TXT, XLSX, Parquet, JSONL)")
    mine.add_argument("--column", help="the column holding the questions (default: guessed)")
    _model_arguments(mine)
    mine.add_argument("--threshold", type=float, default=None,
                      help="similarity at or above which two questions are duplicates (default 0.84)")
    mine.add_argument("--mode", choices=("connected", "community"), default="connected",
                      help="connected: any chain of similar questions is one cluster; community: every member "
                           "similar to the cluster's centre (tighter)")
    mine.add_argument("--canonical", choices=("central", "longest", "first"), default="central",
                      help="which question of a cluster is kept (default: the most central)")
    mine.add_argument("--k", type=int, default=10, help="neighbours per question in the graph (default 10)")
    mine.add_argument("--clusters-out", metavar="FILE", help="write every row with its cluster (csv/tsv/xlsx/parquet/jsonl)")
    mine.add_argument("--dedup-out", metavar="FILE", help="write the deduplicated spreadsheet (all original columns)")
    mine.add_argument("--json", action="store_true", help="print one JSON object on stdout")

    evaluate = sub.add_parser("evaluate", help="score a model on labelled pairs (AP, best F1 and its threshold)")
    evaluate.add_argument("--pairs", required=True, metavar="FILE", help="a labelled pair file")
    _model_arguments(evaluate)
    evaluate.add_argument("--mining", action="store_true",
                          help="also mine the distinct questions of FILE and score the mined pairs")
    evaluate.add_argument("--json", action="store_true", help="print one JSON object on stdout")

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


def _model_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", default="default",
                        help="'default' (bundled all-MiniLM-L6-v2), a folder with a SentenceTransformer model, or a hub id")
    parser.add_argument("--device", help="cpu, cuda, cuda:1 or mps (default: the best available)")
    parser.add_argument("--backend", choices=("auto", "torch", "onnx-int8"), default="auto",
                        help="encoder on the CPU: auto uses ONNX int8 where it agrees with torch (default)")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--no-cache", action="store_true", help="neither read nor write the embedding cache")


def cmd_mine(args: argparse.Namespace) -> int:
    import time

    from .cli_progress import TerminalContext
    from .core.export import annotated_frame, check_output_path, dedup_frame, write_table
    from .core.io import Role, read_table
    from .core.mining import DEFAULT_THRESHOLD, MiningParams, mine_collection

    start = time.perf_counter()
    threshold = DEFAULT_THRESHOLD if args.threshold is None else args.threshold
    if not 0.0 < threshold <= 1.0:
        raise_usage(f"--threshold must be in (0, 1], not {threshold}")
    for out in (args.clusters_out, args.dedup_out):  # fail before the slow part, not after
        if out:
            check_output_path(out, args.input)
    with TerminalContext() as ctx:
        table = read_table(args.input, ctx)
        if args.column:
            table = table.with_collection_column(args.column)
        elif table.role is Role.PAIRS:
            from .core.errors import ColumnError

            raise ColumnError(f"{table.path.name} is a labelled pair file ({table.pairs.layout}), not a collection.",
                              hint="Use `quoradup evaluate --pairs FILE`, or choose a question column with --column.")
        params = MiningParams(model=args.model, k=args.k, backend=args.backend, device=args.device,
                              batch_size=args.batch_size, use_cache=not args.no_cache)
        mined = mine_collection(table.texts().tolist(), params, ctx)
        clustering = mined.cluster(threshold, mode=args.mode, canonical_policy=args.canonical)
        written = {}
        if args.clusters_out:
            written["clusters_out"] = str(write_table(annotated_frame(table.frame, mined.texts, clustering),
                                                      args.clusters_out, args.input))
        if args.dedup_out:
            written["dedup_out"] = str(write_table(dedup_frame(table.frame, clustering), args.dedup_out, args.input))
    summary = {
        "n_questions": mined.n, "n_clusters": clustering.n_clusters, "n_removed": clustering.n_removed,
        "n_duplicate_clusters": clustering.n_multi, "threshold": threshold, "mode": args.mode,
        "model": mined.model.describe(), "backend": mined.backend, "n_encoded": mined.n_encoded,
        "seconds": round(time.perf_counter() - start, 3), **written,
    }
    if args.json:
        print(json.dumps(summary, ensure_ascii=False))
    else:
        print(f"{mined.n:,} questions -> {clustering.n_clusters:,} after removing {clustering.n_removed:,} duplicates "
              f"({clustering.n_multi:,} duplicate clusters) at threshold {threshold:g} ({args.mode})")
        for key, path in written.items():
            print(f"{key.replace('_', ' ')}: {path}")
        _print_top_clusters(mined, clustering)
    return 0


def _print_top_clusters(mined, clustering, limit: int = 5) -> None:
    for cluster_id in clustering.multi_clusters()[:limit]:
        members = clustering.members(int(cluster_id))
        canonical = int(clustering.canonical[cluster_id])
        print(f"\n[{len(members)}] {mined.texts[canonical][:100]}")
        for row in members[:6]:
            if row != canonical:
                print(f"   {clustering.similarity_to_canonical[row]:.2f}  {mined.texts[row][:100]}")


def cmd_evaluate(args: argparse.Namespace) -> int:
    from .cli_progress import TerminalContext
    from .core.embedding import EncodeOptions
    from .core.io import read_table
    from .core.pair_scoring import evaluate_pair_table

    with TerminalContext() as ctx:
        table = read_table(args.pairs, ctx)
        options = EncodeOptions(batch_size=args.batch_size, backend=args.backend, device=args.device,
                                use_cache=not args.no_cache)
        result = evaluate_pair_table(table, args.model, options, mining=args.mining, ctx=ctx)
    data = result.as_dict()
    if args.json:
        print(json.dumps(data, ensure_ascii=False))
    else:
        m = result.pairs
        print(f"model: {args.model}  pairs: {m.n_pairs:,} ({m.n_positive:,} duplicates)")
        print(f"average precision {m.ap:.4f}   best F1 {m.f1:.4f} at threshold {m.threshold:.4f} "
              f"(precision {m.precision:.4f}, recall {m.recall:.4f})   accuracy {m.accuracy:.4f}")
        if result.mining is not None:
            mm = result.mining
            print(f"mining over {mm.n_questions:,} questions ({mm.n_gold_pairs:,} gold pairs): AP {mm.ap:.4f}, "
                  f"best F1 {mm.f1:.4f} at {mm.threshold:.4f} (precision {mm.precision:.4f}, recall {mm.recall:.4f})")
    return 0


def raise_usage(message: str) -> None:
    from .core.errors import QuoradupError

    raise QuoradupError(message)


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
    "mine": cmd_mine,
    "evaluate": cmd_evaluate,
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
