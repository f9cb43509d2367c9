"""The ``ggcam`` command line: subcommands (``main``), their pre-flight checks (``checks``) and
the ``tune`` subcommand (``tune``)."""

from ggcam.cli.commands import main

__all__ = ["main"]
