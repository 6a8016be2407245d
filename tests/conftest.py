"""Hypothesis profiles for the property-based tests (``tests/test_properties.py``).

``ci`` (the default) replays a fixed sequence of examples (``derandomize``), so a
failure in CI reproduces on every machine, with no deadline (BLAS timings vary on
shared runners) and the reproduction blob printed. ``dev`` draws many more, fresh
examples on each run: ``HYPOTHESIS_PROFILE=dev python -m pytest tests/test_properties.py``.
"""

import os

from hypothesis import settings

settings.register_profile(
    "ci", derandomize=True, deadline=None, print_blob=True, max_examples=40
)
settings.register_profile("dev", deadline=None, print_blob=True, max_examples=300)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))
