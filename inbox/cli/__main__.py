"""``python -m inbox.cli``: the ``inbox`` command without its script (``inbox dev`` runs its
children this way, with the same interpreter)."""

import sys

from inbox.cli.main import main

sys.exit(main())
