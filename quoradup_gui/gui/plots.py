"""Live training plots: one persistent curve per series, updated with setData (pyqtgraph).

pyqtgraph is imported when the Train tab first builds its plots, not at start-up.
"""

from __future__ import annotations

import functools
import math

from PySide6.QtWidgets import QVBoxLayout, QWidget

# Curves added while a run reports them (a multi-task run's tasks) take these colours in turn.
EXTRA_COLORS = ("#14877a", "#b5446e", "#6b4fbb", "#c07a12", "#2f6fa8")
MARKER_LIMIT = 50  # a marker per point while a curve is short (a lone point shows); a plain line after


class LivePlot(QWidget):
    """A plot with named curves; ``append(name, x, y)`` adds a point, ``clear()`` starts over.

    The curves named at construction are always there; ``append`` to any other name adds a
    curve for it (until the next ``clear()``). The axes show the values themselves: pyqtgraph's
    SI-prefix scaling would turn scores of 0.635–0.665 into "score (x0.001)" with ticks 635–665.
    The step axis starts at 0 and has ticks at whole steps; ``y_min`` / ``y_max`` bound the
    value axis.
    """

    def __init__(self, title: str, y_label: str, curves: dict[str, str], parent: QWidget | None = None,
                 y_min: float | None = None, y_max: float | None = None) -> None:
        super().__init__(parent)
        import pyqtgraph as pg

        self._pg = pg
        pg.setConfigOptions(antialias=True, background="w", foreground="#333")
        self.widget = pg.PlotWidget(title=title, axisItems={"bottom": _step_axis_class()(orientation="bottom")})
        self.widget.setLabel("bottom", "step")
        self.widget.setLabel("left", y_label)
        for side in ("bottom", "left"):
            self.widget.getAxis(side).enableAutoSIPrefix(False)
        # Auto-range padding must not show negative steps, nor values a series cannot take (a
        # score above 1, a loss below 0): the range is kept within what the caller says.
        self.widget.setLimits(xMin=0, **{k: v for k, v in (("yMin", y_min), ("yMax", y_max)) if v is not None})
        self.widget.showGrid(x=True, y=True, alpha=0.2)
        self.legend = self.widget.addLegend(offset=(-10, 10))
        self._fixed = dict(curves)
        self._data: dict[str, tuple[list[float], list[float]]] = {}
        self._curves = {}
        for name, color in curves.items():
            self._add_curve(name, color)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.widget)

    def _add_curve(self, name: str, color: str) -> None:
        pg = self._pg
        curve = self.widget.plot([], [], name=name, pen=pg.mkPen(color, width=2),
                                 symbol="o", symbolSize=5, symbolBrush=color, symbolPen=color)
        # Long runs: draw at most one point per pixel, only what is in view.
        curve.setDownsampling(auto=True, method="peak")
        curve.setClipToView(True)
        self._curves[name] = curve
        self._data[name] = ([], [])

    def append(self, name: str, x: float, y: float) -> None:
        if name not in self._curves:
            extra = len(self._curves) - len(self._fixed)
            self._add_curve(name, EXTRA_COLORS[extra % len(EXTRA_COLORS)])
        xs, ys = self._data[name]
        xs.append(float(x))
        ys.append(float(y))
        curve = self._curves[name]
        if len(xs) == MARKER_LIMIT + 1:
            curve.setSymbol(None)
        curve.setData(xs, ys)

    def points(self, name: str) -> list[tuple[float, float]]:
        xs, ys = self._data.get(name, ([], []))
        return list(zip(xs, ys))

    def curve_names(self) -> list[str]:
        """Curves that hold points, in the order they were added."""
        return [name for name, (xs, _) in self._data.items() if xs]

    def axis_texts(self, side: str) -> tuple[str, list[str]]:
        """The label and the tick texts the axis on ``side`` ("left", "bottom") draws now."""
        axis = self.widget.getAxis(side)
        length = axis.geometry().height() if side in ("left", "right") else axis.geometry().width()
        texts: list[str] = []
        for spacing, values in axis.tickValues(axis.range[0], axis.range[1], max(length, 1.0)):
            texts += axis.tickStrings(values, axis.autoSIPrefixScale * axis.scale, spacing)
        return axis.labelString(), texts

    def x_range(self) -> tuple[float, float]:
        low, high = self.widget.getViewBox().viewRange()[0]
        return float(low), float(high)

    def clear(self) -> None:
        if not any(xs for xs, _ in self._data.values()):
            return  # nothing drawn: no relayout and repaint while a run starts
        for name in [n for n in self._curves if n not in self._fixed]:
            curve = self._curves.pop(name)
            del self._data[name]
            self.legend.removeItem(curve)
            self.widget.removeItem(curve)
        for name, curve in self._curves.items():
            self._data[name] = ([], [])
            curve.setSymbol("o")
            curve.setData([], [])


@functools.cache
def _step_axis_class():
    import pyqtgraph as pg

    class StepAxis(pg.AxisItem):
        """Ticks at whole steps only: there is no step 2.5."""

        def tickValues(self, minVal, maxVal, size):  # noqa: N802, N803 (pyqtgraph names)
            levels = [(spacing, values) for spacing, values in super().tickValues(minVal, maxVal, size)
                      if spacing >= 1]
            if not levels:  # a view narrower than two steps
                levels = [(1.0, [float(v) for v in range(math.ceil(minVal), math.floor(maxVal) + 1)])]
            return levels

    return StepAxis
