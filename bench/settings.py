"""The project's own settings, unchanged, plus the bench's URLs: /bench/ceiling and the floors (see urls.py).

Used only by `make bench` (bench/run.py) so that the ceiling is measured in the same project, settings,
middleware and server configuration as every other case.
"""

from config.settings import *  # noqa: F401,F403

ROOT_URLCONF = "bench.urls"
