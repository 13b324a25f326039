"""One module per ``w2s`` subcommand (see :mod:`w2s.cli`)."""


class InputError(ValueError):
    """Bad command-line input: reported as one line with exit code 2."""
