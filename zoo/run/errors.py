"""The one error type for bad input, raised where the input enters."""


class InputError(ValueError):
    """Bad input from a user: a path, a file's contents, a flag or a request.

    The message is one line that names the input and what was expected; command-line
    entry points print it without a traceback and exit with status 2.
    """
