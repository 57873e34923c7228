"""Runnable recipes: `python -m recipes.NAME`."""

import zoo  # noqa: F401  (under `python -m`, zoo quiets TensorFlow's start-up: zoo.run.console)
