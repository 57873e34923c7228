"""SavedModel export for TensorFlow Serving."""

import zoo  # noqa: F401  (under `python -m`, zoo quiets TensorFlow's start-up: zoo.run.console)
