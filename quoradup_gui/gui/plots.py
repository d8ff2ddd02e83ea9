"""Live training plots: one persistent curve per series, updated with setData (pyqtgraph).

pyqtgraph is imported when the Train tab first builds its plots, not at start-up.
"""

from __future__ import annotations

from PySide6.QtWidgets import QVBoxLayout, QWidget


class LivePlot(QWidget):
    """A plot with named curves; ``append(name, x, y)`` adds a point, ``clear()`` starts over."""

    def __init__(self, title: str, y_label: str, curves: dict[str, str], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        import pyqtgraph as pg

        pg.setConfigOptions(antialias=True, background="w", foreground="#333")
        self.widget = pg.PlotWidget(title=title)
        self.widget.setLabel("bottom", "step")
        self.widget.setLabel("left", y_label)
        self.widget.showGrid(x=True, y=True, alpha=0.2)
        self.widget.addLegend(offset=(-10, 10))
        self._data: dict[str, tuple[list[float], list[float]]] = {}
        self._curves = {}
        for name, color in curves.items():
            curve = self.widget.plot([], [], name=name, pen=pg.mkPen(color, width=2),
                                     symbol="o" if len(curves) > 1 else None, symbolSize=5,
                                     symbolBrush=color)
            # Long runs: draw at most one point per pixel, only what is in view.
            curve.setDownsampling(auto=True, method="peak")
            curve.setClipToView(True)
            self._curves[name] = curve
            self._data[name] = ([], [])
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.widget)

    def append(self, name: str, x: float, y: float) -> None:
        xs, ys = self._data[name]
        xs.append(float(x))
        ys.append(float(y))
        self._curves[name].setData(xs, ys)

    def points(self, name: str) -> list[tuple[float, float]]:
        xs, ys = self._data[name]
        return list(zip(xs, ys))

    def clear(self) -> None:
        if not any(xs for xs, _ in self._data.values()):
            return  # nothing drawn: no relayout and repaint while a run starts
        for name, curve in self._curves.items():
            self._data[name] = ([], [])
            curve.setData([], [])
