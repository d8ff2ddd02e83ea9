"""Qt-free core of quoradup: every capability as a plain function.

Nothing under this package may import PySide6, qasync or pyqtgraph (tests/core/test_qt_free.py).
"""
