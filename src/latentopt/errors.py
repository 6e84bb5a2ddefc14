"""Errors a user can fix, with one-line messages: what is wrong, where, and what to do.

A workflow script (:func:`latentopt.scripting.setup`) reports a :class:`LatentoptError` as
its message alone, on the console and at the end of the rule's log, instead of a
traceback: the message already names the file or the config key and the fix.
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["DivergedError", "LatentoptError", "SettingError", "UnreadableFileError", "REBUILD_HINT"]

#: what to do about a damaged workflow output: the workflow rebuilds what is missing
REBUILD_HINT = "delete it and rerun the same snakemake command, which rebuilds it"


class LatentoptError(Exception):
    """Base class: an error whose message is a complete, one-line instruction to the user."""


class UnreadableFileError(LatentoptError, ValueError):
    """A file that cannot be read, is truncated or corrupt, or holds arrays of the wrong shape.

    Parameters
    ----------
    path : path
        The file.
    problem : str
        What is wrong with it.
    fix : str
        What to do (default: :data:`REBUILD_HINT`, right for workflow outputs).
    """

    def __init__(self, path: str | Path, problem: str, fix: str = REBUILD_HINT):
        self.path, self.problem, self.fix = str(path), problem, fix
        super().__init__(f"{path}: {problem}; {fix}")


class SettingError(LatentoptError, ValueError):
    """A setting that turns out not to work only when the job runs (the message names the key and the fix)."""


class DivergedError(LatentoptError, FloatingPointError):
    """Training or an optimization produced non-finite numbers; the message names the setting to change."""
