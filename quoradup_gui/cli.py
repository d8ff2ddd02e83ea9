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
from .core.mine.defaults import CLUSTER_MODES, DEFAULT_MODE
from .core.training.loss_info import LOSSES

EXIT_BAD_INPUT = 2


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="quoradup",
        description="Find and remove duplicate questions by meaning. Without a command, opens the window.",
    )
    from . import __version__

    parser.add_argument("--version", action="version", version=f"quoradup {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    gui = sub.add_parser("gui", help="open the window (the default)")
    gui.add_argument("file", nargs="?")

    inspect = sub.add_parser("inspect", help="detect a file's format, role and columns and summarise it")
    inspect.add_argument("file")
    _sheet_argument(inspect)
    _column_arguments(inspect)
    inspect.add_argument("--json", action="store_true", help="print one JSON object on stdout")

    mine = sub.add_parser("mine", help="find duplicate clusters in a question collection and export them")
    mine.add_argument("input", help="a question collection (CSV, TSV, TXT, XLSX, Parquet, JSONL)")
    mine.add_argument("--column", help="the column holding the questions (default: guessed)")
    _sheet_argument(mine)
    _header_argument(mine)
    _model_arguments(mine)
    mine.add_argument("--threshold", type=float, default=None,
                      help="similarity at or above which two questions are duplicates (default 0.84)")
    mine.add_argument("--mode", choices=CLUSTER_MODES, default=DEFAULT_MODE,
                      help="kept (default): every duplicate joins the most similar kept question, no chains; "
                           "connected: any chain of similar questions is one cluster; community: every member "
                           "similar to the centre of the largest neighbourhoods first")
    mine.add_argument("--canonical", choices=("central", "longest", "first"), default="central",
                      help="which question of a cluster is kept (default: the most central)")
    mine.add_argument("--k", type=int, default=10, help="neighbours per question in the graph (default 10)")
    mine.add_argument("--clusters-out", metavar="FILE", help="write every row with its cluster (csv/tsv/xlsx/parquet/jsonl)")
    mine.add_argument("--dedup-out", metavar="FILE", help="write the deduplicated spreadsheet (all original columns)")
    decisions = mine.add_mutually_exclusive_group()
    decisions.add_argument("--no-decisions", action="store_true",
                           help="ignore the review decisions the app saved for this file and column")
    decisions.add_argument("--decisions", metavar="JOURNAL",
                           help="apply the review decisions of another journal (a .jsonl the app wrote)")
    mine.add_argument("--raw-text", action="store_true",
                      help="CSV/TSV: write text starting with = + - @ as it is (by default it gets a leading ' so "
                           "spreadsheet programs do not run it as a formula)")
    mine.add_argument("--json", action="store_true", help="print one JSON object on stdout")

    review = sub.add_parser("review", help="check pairs: list the pairs worth answering, or record answers",
                            description="The Check pairs mode of the window, headless. --queue N lists the pairs "
                                        "the model is least sure of; --answers FILE records answers into the same "
                                        "journal the window uses.")
    review.add_argument("input", help="a question collection (CSV, TSV, TXT, XLSX, Parquet, JSONL)")
    review.add_argument("--column", help="the column holding the questions (default: guessed)")
    _sheet_argument(review)
    _header_argument(review)
    what = review.add_mutually_exclusive_group(required=True)
    what.add_argument("--queue", type=int, metavar="N", help="list the N pairs most worth answering")
    what.add_argument("--answers", metavar="FILE",
                      help="record answers: columns text1, text2, is_duplicate (or row1, row2, is_duplicate; rows "
                           "from 1 as in the clusters export); is_duplicate 1, 0 or unsure")
    _model_arguments(review)
    review.add_argument("--threshold", type=float, default=None, help="the threshold the queue is near (default 0.84)")
    review.add_argument("--mode", choices=CLUSTER_MODES, default=DEFAULT_MODE, help="as for mine")
    review.add_argument("--decisions", metavar="JOURNAL", help="use another journal than the file's own")
    review.add_argument("--json", action="store_true", help="print one JSON object on stdout")

    evaluate = sub.add_parser("evaluate", help="score a model on labelled pairs (AP, best F1 and its threshold)")
    evaluate.add_argument("--pairs", required=True, metavar="FILE", help="a labelled pair file")
    _sheet_argument(evaluate)
    _column_arguments(evaluate)
    _model_arguments(evaluate)
    evaluate.add_argument("--mining", action="store_true",
                          help="also mine the distinct questions of FILE and score the mined pairs")
    evaluate.add_argument("--json", action="store_true", help="print one JSON object on stdout")

    train = sub.add_parser("train", help="fine-tune a model on labelled question pairs (also under torchrun)",
                           description="Fine-tune a SentenceTransformer on question pairs, the sentence-transformers "
                                       "Quora recipe. Options override the values of --config.")
    train.add_argument("--pairs", metavar="FILE",
                       help="a pair file (question1,question2,is_duplicate; anchor,positive[,negative]; review "
                            "decisions export) or a hub dataset id such as sentence-transformers/quora-duplicates[:subset]")
    train.add_argument("--from-review", metavar="FILE",
                       help="train on the review of a question collection: Check pairs answers, confirmations, "
                            "splits and merges made for FILE (plus its own labels); continues from --model")
    train.add_argument("--column", help="--from-review: the question column (default: guessed)")
    _sheet_argument(train)
    train.add_argument("--config", metavar="FILE", help="a training configuration saved by the app (JSON)")
    train.add_argument("--model", help="'default' (bundled all-MiniLM-L6-v2), a model folder or a hub id")
    train.add_argument("--loss", choices=("auto", *LOSSES),
                       help="default auto: multi-task for labelled pairs, mnrl for duplicate pairs/triplets")
    train.add_argument("--epochs", type=float)
    train.add_argument("--batch-size", type=int, help="pairs per step and process (default 32)")
    train.add_argument("--max-pairs", type=int, help="use the first N usable pairs")
    train.add_argument("--lr", "--learning-rate", dest="learning_rate", type=float, help="default 2e-5")
    train.add_argument("--output", dest="output_dir", metavar="DIR",
                       help="model folder to write (default: a new folder under the app's data folder)")
    train.add_argument("--eval-steps", type=int, help="evaluate the held-out pairs every N steps (default: 10 times)")
    train.add_argument("--eval-fraction", type=float, help="share of the pairs held out, split by question (default 0.1)")
    train.add_argument("--device", help="auto, cpu, cuda or mps")
    train.add_argument("--precision", choices=("auto", "fp32", "fp16", "bf16"),
                       help="auto (default): bf16 on GPUs and on CPUs with bf16 units, fp16 on other CUDA GPUs, "
                            "else fp32")
    train.add_argument("--seed", type=int)
    train.add_argument("--resume", action="store_true", default=None,
                       help="continue from the last checkpoint in the output folder")
    train.add_argument("--json", action="store_true", help="print one JSON object on stdout")

    desktop = sub.add_parser("install-desktop",
                             help="add quoradup to the desktop menu (a .desktop entry and icon under ~/.local/share)")
    desktop.add_argument("--uninstall", action="store_true", help="remove what install-desktop wrote")
    return parser


def cmd_inspect(args: argparse.Namespace) -> int:
    from .cli_progress import TerminalContext
    from .core.ingest.dataset import load_dataset_view

    with TerminalContext() as ctx:
        view = load_dataset_view(args.file, ctx, sheet=args.sheet, header=header_choice(args),
                                 columns=args.columns)
    if args.json:
        print(json.dumps(view.as_dict(), ensure_ascii=False))
    else:
        print("\n".join(view.describe_lines()))
    return 0


def _header_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--header", choices=("yes", "no"), type=str.lower, default=None,
                        help="whether the first row holds column names (default: detected)")


def _column_arguments(parser: argparse.ArgumentParser) -> None:
    _header_argument(parser)
    parser.add_argument("--columns", metavar="Q1,Q2[,LABEL]", type=lambda text: text.split(","),
                        help="the columns to use: one for a question collection; question 1, question 2 and "
                             "the label for a pair file (default: detected)")


def header_choice(args: argparse.Namespace) -> bool | None:
    return None if getattr(args, "header", None) is None else args.header == "yes"


def _sheet_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--sheet", metavar="NAME", help="Excel workbooks: the sheet to read (default: the first "
                                                        "that holds data)")


def warn(notes) -> None:
    """Warnings go to stderr (stdout stays one JSON object under --json)."""
    for note in notes:
        print(f"quoradup: warning: {note}", file=sys.stderr)


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
    from pathlib import Path

    from .cli_progress import TerminalContext
    from .core.mine.mining import DEFAULT_THRESHOLD, MiningParams, mine_collection
    from .core.review.export import check_output_path

    start = time.perf_counter()
    threshold = DEFAULT_THRESHOLD if args.threshold is None else args.threshold
    if not 0.0 < threshold <= 1.0:
        raise_usage(f"--threshold must be in (0, 1], not {threshold}")
    params = MiningParams(model=args.model, k=args.k, backend=args.backend, device=args.device,
                          batch_size=args.batch_size, use_cache=not args.no_cache)
    params.validate()
    outputs = [check_output_path(out, args.input) for out in (args.clusters_out, args.dedup_out) if out]
    if len(outputs) == 2 and outputs[0].resolve() == outputs[1].resolve():  # fail before the slow part
        raise_usage(f"--clusters-out and --dedup-out name the same file ({outputs[0]}); give each its own name")
    if args.decisions and not Path(args.decisions).is_file():
        raise_usage(f"There is no decisions journal {args.decisions}.")
    with TerminalContext() as ctx:
        session, notes = open_collection_session(args, ctx, False if args.no_decisions else args.decisions or True)
        mined = mine_collection(session.collection.texts, params, ctx)
        session.set_mined(mined)
        clustering = session.cluster(threshold, mode=args.mode, canonical_policy=args.canonical)
        session.show(clustering)
        written = {}
        for key, kind in (("clusters_out", "annotated"), ("dedup_out", "dedup")):
            if getattr(args, key):
                result = session.export(kind, getattr(args, key), raw_text=args.raw_text)
                written[key] = str(result.path)
                written[f"{key}_rows"] = result.n_rows
                warn(result.warnings)
                notes += result.warnings
    summary = {
        "n_questions": mined.n, "n_clusters": clustering.n_clusters, "n_removed": clustering.n_removed,
        "n_duplicate_clusters": clustering.n_multi, "threshold": threshold, "mode": args.mode,
        "model": mined.model.describe(), "backend": mined.backend, "n_encoded": mined.n_encoded,
        "seconds": round(time.perf_counter() - start, 3), **written, "warnings": notes,
        "n_decisions_applied": len(session.log), "decisions": str(session.log.path) if session.log.path else None,
    }
    if args.json:
        print(json.dumps(summary, ensure_ascii=False))
    else:
        print(f"{mined.n:,} questions -> {clustering.n_clusters:,} after removing {clustering.n_removed:,} duplicates "
              f"({clustering.n_multi:,} duplicate clusters) at threshold {threshold:g} ({args.mode})"
              + (f", with {len(session.log):,} review decisions applied" if len(session.log) else ""))
        for key in ("clusters_out", "dedup_out"):
            if key in written:
                print(f"{key.replace('_', ' ')}: {written[key]} ({written[key + '_rows']:,} rows)")
        _print_top_clusters(session.display_texts(), clustering)
    return 0


def open_collection_session(args: argparse.Namespace, ctx, journal):
    """The collection of ``args.input`` (``--column``, ``--sheet``, ``--header``) as the window's
    review session, and every warning about it, printed at once (the user may stop a long run over them)."""
    from .core.ingest.io import Role, read_table
    from .core.review.session import ReviewSession

    table = read_table(args.input, ctx, sheet=args.sheet, header=header_choice(args))
    notes = list(table.load_warnings)
    warn(notes)
    if args.column:
        table = table.with_collection_column(args.column)
    elif table.role is Role.PAIRS:
        from .core.errors import ColumnError

        raise ColumnError(f"{table.path.name} is a labelled pair file ({table.pairs.layout}), not a collection.",
                          hint="Use `quoradup evaluate --pairs FILE`, or choose a question column with --column.")
    # The same session as the window: the decisions the user made there apply here.
    session = ReviewSession.open(table, journal=journal)
    more = [w for w in [*table.warnings, *session.log.notes] if w not in notes]
    warn(more)
    return session, notes + more


def _print_top_clusters(texts, clustering, limit: int = 5) -> None:
    for cluster_id in clustering.multi_clusters()[:limit]:
        members = clustering.members(int(cluster_id))
        canonical = int(clustering.canonical[cluster_id])
        print(f"\n[{len(members)}] {texts[canonical][:100]}")
        for row in members[:6]:
            if row != canonical:
                print(f"   {clustering.similarity_to_canonical[row]:.2f}  {texts[row][:100]}")


def cmd_evaluate(args: argparse.Namespace) -> int:
    from .cli_progress import TerminalContext
    from .core.encode.embedding import EncodeOptions
    from .core.evaluate.pair_scoring import evaluate_pair_table
    from .core.ingest.dataset import choose_columns
    from .core.ingest.io import read_table

    with TerminalContext() as ctx:
        table = read_table(args.pairs, ctx, sheet=args.sheet, header=header_choice(args))
        if args.columns:
            table = choose_columns(table, args.columns)
        warn(table.warnings)
        options = EncodeOptions(batch_size=args.batch_size, backend=args.backend, device=args.device,
                                use_cache=not args.no_cache)
        result = evaluate_pair_table(table, args.model, options, mining=args.mining, ctx=ctx)
    data = {**result.as_dict(), "warnings": list(table.warnings)}
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
    "review": lambda args: _loop().cmd_review(args),
    "inspect": cmd_inspect,
    "install-desktop": cmd_install_desktop,
    "gui": cmd_gui,
    "train": lambda args: _loop().cmd_train(args),
}


def _loop():
    from . import cli_loop

    return cli_loop


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    command = COMMANDS.get(args.command or "gui", cmd_gui)
    try:
        code = command(args)
        sys.stdout.flush()  # a closed pipe shows here, inside the handler below
        return code
    except QuoradupError as err:
        print(f"quoradup: {err}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except (JobCancelled, KeyboardInterrupt):
        print("quoradup: cancelled", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `quoradup inspect FILE | head`: the reader left; say so once, no traceback
        _silence_stdout()
        print("quoradup: the output was closed before everything was written (broken pipe)", file=sys.stderr)
        return EXIT_BAD_INPUT
    except OSError as err:  # the machine, not the input: a full disk, a read-only or vanished folder
        from .core.atomic import describe_os_error

        where = f" ({err.filename})" if getattr(err, "filename", None) else ""
        print(f"quoradup: {describe_os_error(err)}{where}", file=sys.stderr)
        return EXIT_BAD_INPUT


def _silence_stdout() -> None:
    """Point stdout at /dev/null so the interpreter's final flush does not fail again."""
    import os

    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError):
        pass


if __name__ == "__main__":
    sys.exit(main())
