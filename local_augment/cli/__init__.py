"""The command line: the click commands, their progress display and terminal handling."""

from local_augment.cli import tools  # noqa: F401 - registers its commands on `cli`
from local_augment.cli.main import cli, main

__all__ = ["cli", "main"]
