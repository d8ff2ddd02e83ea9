"""Issue 12.11: the similarity histogram lines up with the threshold slider (a value is drawn
right above the handle that selects it), has a y axis, and a click on it sets the threshold."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtWidgets import QStyle, QStyleOptionSlider

from .test_duplicates_tab import open_and_mine


def handle_centre_in_histogram(tab) -> float:
    slider = tab.slider
    option = QStyleOptionSlider()
    slider.initStyleOption(option)
    handle = slider.style().subControlRect(QStyle.ComplexControl.CC_Slider, option, QStyle.SubControl.SC_SliderHandle,
                                           slider)
    return tab.histogram.mapFromGlobal(slider.mapToGlobal(handle.center())).x() + 0.5


def test_histogram_shares_the_slider_scale_has_a_y_axis_and_takes_clicks(qtbot, window, demo_copy):
    window.resize(1200, 800)
    tab = open_and_mine(qtbot, window, demo_copy)
    histogram = tab.histogram
    for value in (0.55, 0.7, 0.84, 0.95):
        tab.set_threshold(value)
        qtbot.wait(10)
        assert abs(histogram.value_to_x(value) - handle_centre_in_histogram(tab)) <= 2.0, value
    assert histogram.y_ticks()[:2] == [1, 10]
    assert histogram.value_to_x(0.5) >= histogram.Y_AXIS - 10  # room for the count labels
    qtbot.mouseClick(histogram, Qt.MouseButton.LeftButton, pos=QPoint(round(histogram.value_to_x(0.9)), 20))
    assert tab.spin.value() == pytest.approx(0.9, abs=0.004)
    assert tab.slider.value() == pytest.approx(900, abs=4)
    assert tab.slider.toolTip() and tab.mode_combo.toolTip()
