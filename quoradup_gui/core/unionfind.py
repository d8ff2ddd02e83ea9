"""The one union-find: disjoint sets over hashable items, with path compression."""

from __future__ import annotations

from typing import Hashable


class UnionFind:
    def __init__(self) -> None:
        self._parent: dict[Hashable, Hashable] = {}

    def find(self, x: Hashable) -> Hashable:
        """The root of ``x``'s set (``x`` itself if it was never joined)."""
        parent = self._parent
        root = x
        while parent.get(root, root) != root:
            root = parent[root]
        while x != root:  # path compression
            parent[x], x = root, parent.get(x, x)
        return root

    def union(self, a: Hashable, b: Hashable) -> Hashable:
        """Join the sets of ``a`` and ``b``; ``a``'s root stays the root. Returns it."""
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self._parent[rb] = ra
        return ra
