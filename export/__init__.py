"""SavedModel export for TensorFlow Serving."""

import os
import sys

# Started as `python -m export...` (argv[0] is "-m" while Python locates the module, and
# only then): TensorFlow's C++ start-up lines stay hidden unless --verbose is given.
# Imported as a library, the environment is left as the user set it.
if sys.argv[:1] == ["-m"] and "--verbose" not in sys.argv:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
