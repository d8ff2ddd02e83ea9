"""Score a model on a labelled pair file: pair classification and, optionally, mining.

The job behind `quoradup evaluate` and the estimated precision/recall of the Duplicates tab.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..encode.embedding import EncodeOptions, encode_texts
from ..encode.models import resolve_model
from ..errors import ColumnError
from ..ingest.io import LoadedTable, Role
from ..jobs import JobContext, NullContext
from ..mine.graph import build_neighbour_graph
from .evaluation import MiningMetrics, PairMetrics, mining_corpus_from_pairs, mining_metrics, pair_metrics

# ParaphraseMiningEvaluator's defaults: every question's 100 best candidates, all scores.
MINING_TOP_K = 100


@dataclass(frozen=True)
class PairScores:
    scores: np.ndarray  # float32 cosine per pair (NaN where a question is blank)
    labels: np.ndarray  # float (1, 0, NaN for unlabelled)


@dataclass(frozen=True)
class EvaluationResult:
    model: str
    pairs: PairMetrics
    mining: MiningMetrics | None

    def as_dict(self) -> dict:
        out: dict = {"model": self.model, **self.pairs.as_dict()}
        if self.mining is not None:
            out["mining"] = self.mining.as_dict()
        return out


def require_labelled_pairs(table: LoadedTable) -> None:
    if table.role is not Role.PAIRS or table.pairs is None:
        raise ColumnError(f"{table.path.name} is a question collection, not a labelled pair file.",
                          hint="Evaluation needs pairs with a label, e.g. question1, question2, is_duplicate.")
    if table.pairs.label is None:
        raise ColumnError(f"{table.path.name} has pairs but no usable label column.",
                          hint="Add a label column (1/0, yes/no or true/false) or choose it in the Data tab.")


def score_pairs(table: LoadedTable, options: EncodeOptions, model: str = "default",
                ctx: JobContext | None = None) -> PairScores:
    """Cosine similarity of each labelled pair under ``model`` (distinct texts encoded once)."""
    ctx = ctx or NullContext()
    require_labelled_pairs(table)
    p = table.pairs
    text1 = table.frame[p.text1].tolist()
    text2 = table.frame[p.text2].tolist()
    encoded = encode_texts(resolve_model(model), text1 + text2, options, ctx).embeddings
    n = len(text1)
    scores = np.einsum("ij,ij->i", encoded[:n], encoded[n:]).astype(np.float32)
    blank = np.array([not str(a).strip() or not str(b).strip() for a, b in zip(text1, text2)])
    scores[blank] = np.nan
    labels = table.labels().astype("Float64").to_numpy(dtype=float, na_value=np.nan)
    labels[blank] = np.nan
    return PairScores(scores, labels)


def evaluate_pair_table(table: LoadedTable, model: str = "default", options: EncodeOptions | None = None,
                        mining: bool = False, ctx: JobContext | None = None) -> EvaluationResult:
    ctx = ctx or NullContext()
    options = options or EncodeOptions()
    scored = score_pairs(table, options, model, ctx)
    keep = ~np.isnan(scored.scores)
    metrics = pair_metrics(scored.scores[keep], scored.labels[keep])
    mined = mining_on_pairs(table, options, model, ctx) if mining else None
    return EvaluationResult(model, metrics, mined)


def mining_on_pairs(table: LoadedTable, options: EncodeOptions, model: str = "default",
                    ctx: JobContext | None = None) -> MiningMetrics:
    """Mine the distinct questions of the pair file; gold = transitive closure of its duplicates."""
    ctx = ctx or NullContext()
    p = table.pairs
    frame = table.frame
    texts, ids, gold = mining_corpus_from_pairs(
        frame[p.text1], frame[p.text2], table.labels(),
        frame[p.qid1] if p.qid1 else None, frame[p.qid2] if p.qid2 else None)
    embeddings = encode_texts(resolve_model(model), texts, options, ctx).embeddings
    ctx.set_status(f"Mining {len(texts):,} questions…")
    graph = build_neighbour_graph(embeddings, None, k=min(MINING_TOP_K, max(len(texts) - 1, 1)),
                                  min_score=-1.0, ctx=ctx)
    candidates = ((ids[i], ids[j], float(s)) for i, j, s in zip(graph.sources, graph.targets, graph.scores))
    return mining_metrics(candidates, gold, n_questions=len(texts))
