"""A dev implementation of Sofie's action API, for the demo and the tests (docs/sofie.md).

Sofie is an external system; this package is the stand-in we run over loopback. It is not
deployed. ``server.start_dev_server`` runs it on a thread, ``nazorg sofie-dev`` in a process.
"""

from typing import Final

DEFAULT_ENGAGEMENT_RATE: Final = 0.6
"""Share of accepted actions whose client engages (opens, attends), unless told otherwise.
Here rather than in ``callbacks`` so that the CLI can show it without importing httpx."""
