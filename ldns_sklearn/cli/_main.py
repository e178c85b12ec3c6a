"""The entry point: parse, run one command, turn expected failures into one-line errors."""

from __future__ import annotations

import sys

from ._parser import build_parser

# Failures of the user's input or environment (bad files, options, data, missing extras,
# a request larger than the memory): one line naming the problem and exit status 1, without
# a traceback. Anything else is a bug and keeps its traceback.
EXPECTED_ERRORS = (ValueError, TypeError, OSError, ImportError, MemoryError)


def main(argv=None) -> int:
    """Run ``ldns-sklearn`` with the arguments ``argv`` (default: the command line's).

    Parameters
    ----------
    argv : list of str, optional
        The arguments after the program name, e.g. ``["fit", "counts.npz", "-o",
        "model.npz"]``; ``None`` reads ``sys.argv[1:]``.

    Returns
    -------
    status : int
        0 on success; 1 when the command failed (the reason is printed to stderr, and no
        output file was written); 130 when interrupted. Invalid options exit with status
        2 through ``SystemExit``, as argparse does.

    Examples
    --------
    >>> import contextlib, io
    >>> from ldns_sklearn.cli import main
    >>> with contextlib.redirect_stderr(io.StringIO()) as err:
    ...     status = main(["evaluate", "no-such-model.npz", "recording.nwb"])
    >>> status, err.getvalue().strip()
    (1, "ldns-sklearn evaluate: error: MODEL 'no-such-model.npz' does not exist.")
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    # Imported only now: --help, --version and bad options answer without loading torch
    # and scikit-learn (seconds), which only the commands need.
    from . import _commands

    command = getattr(_commands, args.command)
    try:
        command(args)
    except EXPECTED_ERRORS as error:
        print(f"ldns-sklearn {args.command}: error: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        # Training checkpoints (--checkpoint-dir) stay, so that the same command resumes.
        print(f"ldns-sklearn {args.command}: interrupted; no output file was written.",
              file=sys.stderr)
        return 130
    return 0
