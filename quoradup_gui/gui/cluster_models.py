"""Table models of the Duplicates tab: the cluster list and the members of one cluster.

Both are read-only adapters over an immutable Clustering; sorting and filtering work on
numpy index arrays, so 50,000 clusters cost a few milliseconds, not a widget per row.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np
from PySide6.QtCore import QAbstractTableModel, QMimeData, QModelIndex, Qt
from PySide6.QtGui import QBrush, QColor, QFont

MEMBER_MIME = "application/x-quoradup-member-rows"
_CHARS = 300


def _short(text: str) -> str:
    return text if len(text) <= _CHARS else text[:_CHARS] + "…"


class ClusterListModel(QAbstractTableModel):
    COLUMNS = ("Size", "Top similarity", "Question kept")

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self._ids = np.empty(0, np.int32)  # cluster ids of multi-row clusters
        self._sizes = np.empty(0, np.int64)
        self._top = np.empty(0, np.float32)
        self._texts: list[str] = []
        self._lower: list[str] = []
        self._confirmed = np.empty(0, bool)
        self._new = np.empty(0, np.int64)  # members of a confirmed cluster that nobody confirmed
        self._view = np.empty(0, np.int64)  # positions into the arrays above: filtered and sorted
        self._sort = (0, Qt.SortOrder.DescendingOrder)
        self._filter = ""
        self._unreviewed_only = False
        self._bold = QFont()
        self._bold.setBold(True)

    def set_clusters(self, clustering, texts: Sequence[str], marks=None) -> None:
        """``marks``: core.review.session.Marks of this clustering (confirmed, and how many new)."""
        self.beginResetModel()
        ids = clustering.multi_clusters()
        canonical = clustering.canonical[ids]
        self._ids = ids
        self._sizes = clustering.sizes[ids]
        # Highest similarity of any member to the kept question (the canonical itself excluded).
        sim = clustering.similarity_to_canonical.astype(np.float32).copy()
        sim[clustering.canonical] = -1.0
        top = np.full(clustering.n_clusters, -1.0, np.float32)
        np.maximum.at(top, clustering.labels, sim)
        self._top = top[ids]
        self._texts = [texts[int(r)] for r in canonical]
        self._lower = [t.casefold() for t in self._texts]
        n = clustering.n_clusters
        self._confirmed = (marks.confirmed if marks is not None else np.zeros(n, bool))[ids]
        self._new = (marks.n_new if marks is not None else np.zeros(n, np.int64))[ids]
        self._apply_view()
        self.endResetModel()

    def clear(self) -> None:
        self.beginResetModel()
        self._ids = np.empty(0, np.int32)
        self._texts, self._lower = [], []
        self._confirmed, self._new = np.empty(0, bool), np.empty(0, np.int64)
        self._view = np.empty(0, np.int64)
        self.endResetModel()

    def set_filter(self, text: str) -> None:
        self.beginResetModel()
        self._filter = text.casefold().strip()
        self._apply_view()
        self.endResetModel()

    def set_unreviewed_only(self, on: bool) -> None:
        self.beginResetModel()
        self._unreviewed_only = bool(on)
        self._apply_view()
        self.endResetModel()

    def is_filtered(self) -> bool:
        return bool(self._filter) or self._unreviewed_only

    def n_clusters(self) -> int:
        """Duplicate clusters in the clustering, shown or not."""
        return len(self._ids)

    def n_reviewed(self) -> int:
        """Clusters the user confirmed as they are now (no member joined since)."""
        return int(np.count_nonzero(self._reviewed())) if len(self._ids) else 0

    def _reviewed(self) -> np.ndarray:
        return self._confirmed & (self._new == 0)

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        self.layoutAboutToBeChanged.emit()
        self._sort = (column, order)
        self._apply_view()
        self.layoutChanged.emit()

    def _apply_view(self) -> None:
        positions = np.arange(len(self._ids))
        if self._filter:
            f = self._filter
            positions = np.fromiter((i for i, t in enumerate(self._lower) if f in t), np.int64)
        if self._unreviewed_only and len(positions):
            positions = positions[~self._reviewed()[positions]]
        column, order = self._sort
        if len(positions):
            descending = order == Qt.SortOrder.DescendingOrder
            if column == 2:
                ranks = np.argsort(np.array([self._lower[i] for i in positions], dtype=object), kind="stable")
                ranks = ranks[::-1] if descending else ranks
            else:
                key = (self._sizes if column == 0 else self._top)[positions].astype(np.float64)
                ranks = np.argsort(-key if descending else key, kind="stable")
            positions = positions[ranks]
        self._view = positions.astype(np.int64)

    def _mark(self, p: int) -> str:
        if not self._confirmed[p]:
            return ""
        return "✔ " if not self._new[p] else f"✔ confirmed, {int(self._new[p]):,} new · "

    # ----- Qt model API --------------------------------------------------------------------
    def rowCount(self, parent=QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self._view)

    def columnCount(self, parent=QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self.COLUMNS)

    def data(self, index, role=Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        p = self._view[index.row()]
        col = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            if col == 0:
                return int(self._sizes[p])
            if col == 1:
                return f"{self._top[p]:.3f}"
            return self._mark(p) + _short(self._texts[p])
        if role == Qt.ItemDataRole.ToolTipRole and col == 2:
            if self._confirmed[p]:
                new = int(self._new[p])
                state = ("Confirmed" if not new else
                         f"Confirmed, {new:,} new: joined after the confirmation (Enter confirms them too)")
                return f"{state}\n\n{self._texts[p][:2000]}"
            return self._texts[p][:2000]
        if role == Qt.ItemDataRole.TextAlignmentRole and col < 2:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if role == Qt.ItemDataRole.ForegroundRole and self._confirmed[p]:
            return QBrush(QColor(150, 90, 0) if self._new[p] else QColor(20, 120, 60))  # new members: look again
        return None

    def headerData(self, section, orientation, role=Qt.ItemDataRole.DisplayRole) -> Any:
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return self.COLUMNS[section]
        return None

    def flags(self, index) -> Qt.ItemFlag:
        flags = super().flags(index)
        return flags | Qt.ItemFlag.ItemIsDropEnabled if index.isValid() else flags

    def supportedDropActions(self) -> Qt.DropAction:
        return Qt.DropAction.MoveAction | Qt.DropAction.CopyAction

    def mimeTypes(self) -> list[str]:
        return [MEMBER_MIME]

    # ----- helpers ------------------------------------------------------------------------------
    def cluster_id(self, row: int) -> int:
        return int(self._ids[self._view[row]])

    def row_of_cluster(self, cluster_id: int) -> int | None:
        hits = np.flatnonzero(self._ids[self._view] == cluster_id)
        return int(hits[0]) if len(hits) else None


class MemberModel(QAbstractTableModel):
    """Members of one cluster: the kept question first, then by similarity to it."""

    BASE_COLUMNS = ("Question", "Similarity", "Row")

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self._rows = np.empty(0, np.int64)
        self._sims = np.empty(0, np.float32)
        self._canonical = -1
        self._texts: Sequence[str] = []
        self._extra: list[tuple[str, Any]] = []  # (column name, Series) when "all columns" is on
        self._new_rows: frozenset[int] = frozenset()
        self._bold = QFont()
        self._bold.setBold(True)

    def set_members(self, rows: np.ndarray, sims: np.ndarray, canonical: int, texts: Sequence[str],
                    extra_columns: list[tuple[str, Any]] | None = None, new_rows: frozenset[int] = frozenset()) -> None:
        """``new_rows``: members that joined a confirmed cluster after it was confirmed."""
        self.beginResetModel()
        self._new_rows = new_rows
        order = np.lexsort((rows, -sims, rows != canonical))
        self._rows, self._sims = rows[order].astype(np.int64), sims[order]
        self._canonical = int(canonical)
        self._texts = texts
        self._extra = extra_columns or []
        self.endResetModel()

    def clear(self) -> None:
        self.set_members(np.empty(0, np.int64), np.empty(0, np.float32), -1, [])

    def row_ids(self) -> np.ndarray:
        return self._rows

    def rowCount(self, parent=QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent=QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self.BASE_COLUMNS) + len(self._extra)

    def data(self, index, role=Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        row = int(self._rows[index.row()])
        col = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            if col == 0:
                return (("★ " if row == self._canonical else "") + ("new · " if row in self._new_rows else "")
                        + _short(self._texts[row]))
            if col == 1:
                return f"{self._sims[index.row()]:.3f}"
            if col == 2:
                return row + 1
            value = self._extra[col - 3][1].iat[row]
            return "" if value is None else _short(str(value))
        if role == Qt.ItemDataRole.FontRole and row == self._canonical:
            return self._bold
        if role == Qt.ItemDataRole.ToolTipRole and col == 0:
            return self._texts[row][:2000]
        return None

    def headerData(self, section, orientation, role=Qt.ItemDataRole.DisplayRole) -> Any:
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            if section < len(self.BASE_COLUMNS):
                return self.BASE_COLUMNS[section]
            return self._extra[section - 3][0]
        return None

    def flags(self, index) -> Qt.ItemFlag:
        return super().flags(index) | Qt.ItemFlag.ItemIsDragEnabled

    def mimeTypes(self) -> list[str]:
        return [MEMBER_MIME]

    def mimeData(self, indexes) -> QMimeData:
        rows = sorted({int(self._rows[i.row()]) for i in indexes})
        mime = QMimeData()
        mime.setData(MEMBER_MIME, ",".join(map(str, rows)).encode())
        return mime

    def supportedDragActions(self) -> Qt.DropAction:
        return Qt.DropAction.MoveAction
