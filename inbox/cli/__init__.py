"""The process entry points: the ``inbox`` command (``main``), the ``inbox dev`` supervisor, the
worker, the demo loader and Temporal's set-up. Only this package (and ``api.app``, the web
process) wires the domain to ``workflows/`` and ``activities/``."""
