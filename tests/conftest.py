"""Shared test settings.

Under CI (the ``CI`` environment variable is set) hypothesis runs derandomized,
so a submission's result does not depend on the luck of the draw; locally it
explores new examples on every run, which is how rare cases are found.
"""

import os

from hypothesis import settings

settings.register_profile("ci", derandomize=True, print_blob=True)
if os.environ.get("CI"):
    settings.load_profile("ci")
