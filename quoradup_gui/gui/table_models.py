"""Read-only table models over immutable core data, fetched lazily per visible cell."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt
from PySide6.QtGui import QBrush, QColor, QFont

if TYPE_CHECKING:
    import pandas as pd

# A 10 MB cell would make painting crawl; the view shows the start, the tooltip a bit more.
DISPLAY_CHARS = 300
TOOLTIP_CHARS = 2000

_Index = QModelIndex | QPersistentModelIndex


class DataFrameModel(QAbstractTableModel):
    """Shows a DataFrame without copying it into items: 500,000 rows cost nothing up front."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self._columns: list[str] = []
        self._values: list[Any] = []  # one array per column
        self._rows = 0
        self._highlight: set[str] = set()
        self._bold = QFont()
        self._bold.setBold(True)
        self._highlight_brush = QBrush(QColor(20, 135, 122, 28))

    def set_frame(self, frame: "pd.DataFrame | None", highlight: set[str] | None = None) -> None:
        self.beginResetModel()
        if frame is None:
            self._columns, self._values, self._rows = [], [], 0
        else:
            self._columns = [str(c) for c in frame.columns]
            # Column Series, read cell by cell on paint: no up-front conversion of 500k rows.
            self._values = [frame.iloc[:, i] for i in range(frame.shape[1])]
            self._rows = len(frame)
        self._highlight = set(highlight or ())
        self.endResetModel()

    def set_highlight(self, columns: set[str]) -> None:
        self._highlight = set(columns)
        if self._rows and self._columns:
            self.headerDataChanged.emit(Qt.Orientation.Horizontal, 0, len(self._columns) - 1)
            self.dataChanged.emit(self.index(0, 0), self.index(self._rows - 1, len(self._columns) - 1))

    def rowCount(self, parent: _Index = QModelIndex()) -> int:
        return 0 if parent.isValid() else self._rows

    def columnCount(self, parent: _Index = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self._columns)

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        if role == Qt.ItemDataRole.DisplayRole:
            return _cell_text(self._values[index.column()].iat[index.row()], DISPLAY_CHARS)
        if role == Qt.ItemDataRole.ToolTipRole:
            text = _cell_text(self._values[index.column()].iat[index.row()], TOOLTIP_CHARS)
            return text if len(text) > 60 else None
        if role == Qt.ItemDataRole.BackgroundRole and self._columns[index.column()] in self._highlight:
            return self._highlight_brush
        return None

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if orientation == Qt.Orientation.Horizontal:
            if role == Qt.ItemDataRole.DisplayRole:
                return self._columns[section]
            if role == Qt.ItemDataRole.FontRole and self._columns[section] in self._highlight:
                return self._bold
        elif role == Qt.ItemDataRole.DisplayRole:
            return f"{section + 1:,}"
        return None

    def column_name(self, column: int) -> str:
        return self._columns[column]


def _cell_text(value: Any, limit: int) -> str:
    if isinstance(value, str):
        text = value
    elif value is None or _is_missing(value):
        return ""
    else:
        text = str(value)
    if len(text) > limit:
        return text[:limit] + f"… ({len(text):,} characters)"
    return text.replace("\n", " ⏎ ") if "\n" in text else text


def _is_missing(value: Any) -> bool:
    import pandas as pd  # already loaded whenever a frame is shown

    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False
