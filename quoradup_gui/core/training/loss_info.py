"""The losses the Train tab offers, with one-line explanations: a plain table, no heavy imports
(the tab is built before the window first paints)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class LossInfo:
    name: str
    title: str
    explanation: str  # one line, for the Train tab
    needs_non_duplicates: bool  # labelled 1/0 pairs or triplets; plain duplicate pairs are not enough


LOSSES: dict[str, LossInfo] = {
    info.name: info
    for info in (
        LossInfo("online-contrastive", "Online contrastive",
                 "Pulls duplicates together and pushes apart look-alike non-duplicates, learning from the hardest "
                 "pairs of each batch; best for deciding 'duplicate or not'.", True),
        LossInfo("contrastive", "Contrastive",
                 "Pulls every duplicate pair together and pushes every non-duplicate pair apart beyond a margin; "
                 "simple and stable.", True),
        LossInfo("cosent", "CoSENT",
                 "Learns the order of similarities: every duplicate pair must score above every non-duplicate pair "
                 "of its batch; gentle, so it suits a few hundred labels from a review.", True),
        LossInfo("mnrl", "Multiple negatives ranking",
                 "Learns from duplicates only: each question must pick out its duplicate from the whole batch; best "
                 "for finding duplicates in a large collection (bigger batches help).", False),
        LossInfo("cached-mnrl", "Cached multiple negatives ranking",
                 "Like multiple negatives ranking, but computes the batch in small chunks so very large batches fit "
                 "in memory (slower per step).", False),
        LossInfo("multi-task", "Multi-task (ranking + online contrastive)",
                 "Trains ranking and online contrastive together, as the Quora recipe does: good both at finding "
                 "duplicates and at deciding 'duplicate or not'.", True),
    )
}
