"""The Qt front end: every widget, signal and plot lives here, never in core."""
