"""The commands of the closed loop: `quoradup review` (Check pairs, headless) and `quoradup train`
(from labelled pairs, or from the review of a collection)."""

from __future__ import annotations

import argparse
import json
import sys

from .cli import open_collection_session, raise_usage, warn


def cmd_review(args: argparse.Namespace) -> int:
    from pathlib import Path

    from .cli_progress import TerminalContext

    if args.decisions and not Path(args.decisions).is_file():
        raise_usage(f"There is no decisions journal {args.decisions}.")
    if args.queue is not None and args.queue < 1:
        raise_usage(f"--queue must be 1 or more, not {args.queue}")
    if args.answers and not Path(args.answers).is_file():
        raise_usage(f"There is no answers file {args.answers}.")
    with TerminalContext() as ctx:
        session, notes = open_collection_session(args, ctx, args.decisions or True)
        if args.answers:
            from .core.review.answers import describe, record_answers

            recorded = record_answers(session, args.answers, ctx)
            warn(recorded.problems)
            notes += recorded.problems
            data = {"n_recorded": recorded.n_recorded, "n_duplicate": recorded.n_duplicate, "n_not": recorded.n_not,
                    "n_unsure": recorded.n_unsure, "n_already_recorded": recorded.n_same_as_before,
                    "decisions": str(session.log.path), "warnings": notes}
            print(json.dumps(data, ensure_ascii=False) if args.json else f"{describe(recorded)} in {session.log.path}")
            return 0
        from .core.mine.mining import DEFAULT_THRESHOLD, MiningParams, mine_collection
        from .core.review.queue import pair_queue

        threshold = DEFAULT_THRESHOLD if args.threshold is None else args.threshold
        if not 0.5 <= threshold <= 1.0:
            raise_usage(f"--threshold must be in [0.5, 1], not {threshold}")
        params = MiningParams(model=args.model, backend=args.backend, device=args.device, batch_size=args.batch_size,
                              use_cache=not args.no_cache)
        session.set_mined(mine_collection(session.collection.texts, params, ctx))
        clustering = session.cluster(threshold, mode=args.mode)
        queue = pair_queue(session.mined, clustering, session.resolved, args.queue)
    texts = session.collection.texts
    pairs = [{"row1": p.row1 + 1, "row2": p.row2 + 1, "text1": texts[p.row1], "text2": texts[p.row2],
              "score": round(p.score, 4)} for p in queue]
    dup, not_dup, unsure = session.resolved.answer_counts()
    if args.json:
        print(json.dumps({"pairs": pairs, "threshold": threshold, "mode": args.mode,
                          "answered": {"duplicate": dup, "not": not_dup, "unsure": unsure}, "warnings": notes},
                         ensure_ascii=False))
    else:
        print(f"{len(pairs):,} pairs worth answering at threshold {threshold:g} ({args.mode}); "
              f"{dup + not_dup + unsure:,} answered so far")
        for p in pairs:
            print(f"\n{p['score']:.3f}  row {p['row1']:,}: {p['text1'][:100]}\n       row {p['row2']:,}: "
                  f"{p['text2'][:100]}")
    return 0


def cmd_train(args: argparse.Namespace) -> int:
    import os
    from dataclasses import replace

    from .cli_progress import TerminalContext
    from .core.training.run import TrainingConfig, run_training

    overrides = ("pairs", "model", "loss", "epochs", "batch_size", "max_pairs", "learning_rate", "output_dir",
                 "eval_steps", "eval_fraction", "device", "precision", "seed", "resume")
    if args.from_review:
        return _train_from_review(args, {name: getattr(args, name) for name in overrides if name not in
                                         ("pairs", "model", "output_dir") and getattr(args, name) is not None})
    config = TrainingConfig.load(args.config) if args.config else TrainingConfig()
    config = replace(config, **{name: getattr(args, name) for name in overrides if getattr(args, name) is not None})
    if not config.pairs:
        raise_usage("train needs --pairs FILE (or a --config that names the pairs)")
    config.validate()
    if int(os.environ.get("RANK", "0") or 0) == 0:
        warn(config.warnings())  # at once: the user may stop the run over them
    with TerminalContext() as ctx:
        result = _interruptible(ctx, lambda: run_training(config, None, ctx))
    return _report_training(args, result, config.warnings())


def _interruptible(ctx, run):
    """``run()`` where a first Ctrl+C stops after the current step and saves the model, and a second one
    aborts. Not under torchrun / accelerate launch, where ranks stopping at different steps would wait on
    each other."""
    import os
    import signal

    def on_interrupt(signum, frame):
        if ctx.is_cancelled():
            raise KeyboardInterrupt
        print("quoradup: stopping after this step and saving the model (Ctrl+C again to abort)", file=sys.stderr)
        ctx.cancel()

    single = int(os.environ.get("WORLD_SIZE", "1") or 1) == 1
    previous = signal.signal(signal.SIGINT, on_interrupt) if single else None
    try:
        return run()
    finally:
        if previous is not None:
            signal.signal(signal.SIGINT, previous)


def _train_from_review(args: argparse.Namespace, overrides: dict) -> int:
    from .cli_progress import TerminalContext
    from .core.loop.improve import train_from_review

    if args.config or args.pairs:
        raise_usage("--from-review trains on the review of a collection; leave out --pairs and --config")
    args.input, args.header = args.from_review, None
    with TerminalContext() as ctx:
        session, notes = open_collection_session(args, ctx, True)
        result = _interruptible(ctx, lambda: train_from_review(session, args.model or "default", args.output_dir,
                                                               ctx, **overrides))
    return _report_training(args, result, notes)


def _report_training(args: argparse.Namespace, result, said: list[str]) -> int:
    if not result.is_main_process:  # other torchrun / accelerate ranks stay quiet
        return 0
    data = result.as_dict()
    if args.json:
        print(json.dumps(data, ensure_ascii=False))
    else:
        def score(m: dict | None) -> str:
            return "n/a" if m is None else f"AP {m['ap']:.4f}, best F1 {m['f1']:.4f}"

        print(f"model: {data['output']}{'  (cancelled)' if data['cancelled'] else ''}")
        print(f"loss {data['loss']}, {data['steps']:,} steps on {data['n_train_pairs']:,} pairs in "
              f"{data['seconds']:.0f} s ({data['samples_per_s']:.1f} pairs/s on {data['device']})")
        print(f"held-out ({data['n_eval_pairs']:,} pairs): base {score(data['base'])} -> trained {score(data['trained'])}")
        warn(w for w in data["warnings"] if w not in said)
    return 130 if result.cancelled else 0
