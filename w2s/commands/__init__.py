"""One module per ``w2s`` subcommand (see :mod:`w2s.cli`)."""
