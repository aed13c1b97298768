from __future__ import annotations

import os

# Tests must never depend on the shared research folder next to the repository.
os.environ.setdefault("LIFTSENSE_TESTING", "1")
