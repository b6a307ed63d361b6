"""config.wsgi.application, with bench.settings (= config.settings + the /bench/ceiling route)."""

import os

os.environ["DJANGO_SETTINGS_MODULE"] = "bench.settings"

from config.wsgi import application  # noqa: F401  (config.wsgi only setdefault()s the settings)
