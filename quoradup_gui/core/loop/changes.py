"""What changed: re-mine with the new model and compare it with the old one.

The new model's embeddings and neighbour graph go through the same caches as Find duplicates;
both clusterings are made at the same threshold and mode with the session's decisions applied,
so the comparison shows what the model changed, not what the review changed.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from ..mine.defaults import DEFAULT_MODE
from ..mine.diff import ClusteringDiff, diff_clusterings
from ..mine.mining import MiningParams, mine_collection

if TYPE_CHECKING:
    from ..jobs import JobContext
    from ..mine.clustering import Clustering, ClusterMode
    from ..mine.mining import MinedCollection
    from ..review.session import ReviewSession


@dataclass(frozen=True, eq=False)
class ModelComparison:
    before: MinedCollection
    after: MinedCollection
    before_clustering: Clustering
    after_clustering: Clustering
    diff: ClusteringDiff


def compare_models(session: ReviewSession, before: MinedCollection, model: str, threshold: float,
                   mode: ClusterMode = DEFAULT_MODE, params: MiningParams = MiningParams(),
                   ctx: JobContext | None = None) -> ModelComparison:
    """Mine the session's questions with ``model`` and compare its clusters with ``before``'s."""
    after = mine_collection(session.collection.texts, replace(params, model=str(model)), ctx)
    return compare_mined(session, before, after, threshold, mode, ctx)


def compare_mined(session: ReviewSession, before: MinedCollection, after: MinedCollection, threshold: float,
                  mode: ClusterMode = DEFAULT_MODE, ctx: JobContext | None = None) -> ModelComparison:
    resolved = session.resolved
    old = before.cluster(threshold, mode=mode, constraints=resolved.constraints, ctx=ctx)
    new = after.cluster(threshold, mode=mode, constraints=resolved.constraints, ctx=ctx)
    diff = diff_clusterings(old, new, before.embeddings, after.embeddings, (before.graph, after.graph))
    return ModelComparison(before, after, old, new, diff)
