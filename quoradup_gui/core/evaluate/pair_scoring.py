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
from ..ingest.questions import QuestionSet
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


def labelled_questions(source: LoadedTable | QuestionSet) -> QuestionSet:
    """The QuestionSet of a labelled pair file (built here from a table; checked either way)."""
    if isinstance(source, LoadedTable):
        require_labelled_pairs(source)
        return QuestionSet.from_table(source)
    if source.pairs is None or source.pairs.labels is None:
        raise ColumnError(f"{source.path.name} is not a labelled pair file.",
                          hint="Evaluation needs pairs with a label, e.g. question1, question2, is_duplicate.")
    return source


def score_pairs(source: LoadedTable | QuestionSet, options: EncodeOptions, model: str = "default",
                ctx: JobContext | None = None) -> PairScores:
    """Cosine similarity of each labelled pair under ``model`` (each distinct question encoded once)."""
    ctx = ctx or NullContext()
    questions = labelled_questions(source)
    p = questions.pairs
    encoded = encode_texts(resolve_model(model), list(questions.texts), options, ctx).embeddings
    blank = (p.row1 < 0) | (p.row2 < 0)
    r1, r2 = np.where(blank, 0, p.row1), np.where(blank, 0, p.row2)
    if len(encoded):
        scores = np.einsum("ij,ij->i", encoded[r1], encoded[r2]).astype(np.float32)
    else:
        scores = np.zeros(len(p), dtype=np.float32)
    scores[blank] = np.nan
    labels = p.labels.copy()
    labels[blank] = np.nan
    return PairScores(scores, labels)


def evaluate_pair_table(source: LoadedTable | QuestionSet, model: str = "default", options: EncodeOptions | None = None,
                        mining: bool = False, ctx: JobContext | None = None) -> EvaluationResult:
    ctx = ctx or NullContext()
    options = options or EncodeOptions()
    questions = labelled_questions(source)
    scored = score_pairs(questions, options, model, ctx)
    keep = ~np.isnan(scored.scores)
    metrics = pair_metrics(scored.scores[keep], scored.labels[keep])
    mined = mining_on_pairs(questions, options, model, ctx) if mining else None
    return EvaluationResult(model, metrics, mined)


def mining_on_pairs(source: LoadedTable | QuestionSet, options: EncodeOptions, model: str = "default",
                    ctx: JobContext | None = None) -> MiningMetrics:
    """Mine the distinct questions of the pair file; gold = transitive closure of its duplicates
    (questions are the file's question ids when it has them, else distinct texts)."""
    ctx = ctx or NullContext()
    questions = labelled_questions(source)
    p = questions.pairs
    text1, text2 = questions.pair_texts()
    texts, ids, gold = mining_corpus_from_pairs(text1, text2, p.labels, p.qid1, p.qid2)
    embeddings = encode_texts(resolve_model(model), texts, options, ctx).embeddings
    ctx.set_status(f"Mining {len(texts):,} questions…")
    graph = build_neighbour_graph(embeddings, None, k=min(MINING_TOP_K, max(len(texts) - 1, 1)),
                                  min_score=-1.0, ctx=ctx)
    candidates = ((ids[i], ids[j], float(s)) for i, j, s in zip(graph.sources, graph.targets, graph.scores))
    return mining_metrics(candidates, gold, n_questions=len(texts))
