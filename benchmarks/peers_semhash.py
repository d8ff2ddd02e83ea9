"""SemHash's self-deduplication on given vectors; run by benchmarks/peers.py in SemHash's own venv.

python peers_semhash.py EMBEDDINGS.npy TEXTS.json THRESHOLDS.json OUT.json

Imports nothing of quoradup (SemHash is no dependency of the app). Each row is a record
{"text", "row"}; SemHash removes exact duplicates of the text, indexes the vectors (its default
ANN backend) and, per threshold, keeps or filters every record; a filtered record joins the
cluster of the record it is a duplicate of. Writes, per threshold, a cluster label per row and
the seconds self_deduplicate took.
"""

from __future__ import annotations

import json
import sys
import time

import numpy as np


class GivenVectors:
    """The Encoder protocol over vectors computed beforehand (SemHash never calls it here)."""

    def encode(self, inputs, **kwargs):
        raise RuntimeError("the vectors are given")


def main(argv: list[str]) -> int:
    from importlib.metadata import version

    from semhash import SemHash

    emb_path, texts_path, thresholds_path, out_path = argv
    embeddings = np.load(emb_path).astype(np.float32)
    texts = json.loads(open(texts_path, encoding="utf-8").read())
    thresholds = json.loads(open(thresholds_path, encoding="utf-8").read())
    records = [{"text": text, "row": str(i)} for i, text in enumerate(texts)]
    started = time.perf_counter()
    index = SemHash.from_embeddings(embeddings, records, model=GivenVectors(), columns=["text"])
    out = {"version": version("semhash"),
           "index_s": time.perf_counter() - started, "thresholds": {}}
    for t in thresholds:
        started = time.perf_counter()
        result = index.self_deduplicate(threshold=float(t))
        seconds = time.perf_counter() - started
        parent = list(range(len(texts)))

        def find(x: int) -> int:
            while parent[x] != x:
                parent[x] = parent[parent[x]]
                x = parent[x]
            return x

        for duplicate in result.filtered:
            a, b = int(duplicate.record["row"]), int(duplicate.duplicate_of["row"])
            parent[find(a)] = find(b)
        out["thresholds"][str(t)] = {"labels": [find(i) for i in range(len(texts))], "seconds": seconds,
                                     "n_selected": len(result.selected)}
    with open(out_path, "w", encoding="utf-8") as handle:
        json.dump(out, handle)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
