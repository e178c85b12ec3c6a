"""``python -m ldns_sklearn.cli``: the same as the ``ldns-sklearn`` command."""

from ._main import main

raise SystemExit(main())
