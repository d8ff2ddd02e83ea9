"""python -m quoradup_gui [FILE] [--screenshot OUT.png --tab data|train|duplicates]"""

import sys

from .gui.app import main

sys.exit(main())
