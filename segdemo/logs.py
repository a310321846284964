"""The app's logging: one line per message, each with its time, level and logger.

huggingface_hub 2.4 gives its loggers a handler of their own and lets them propagate too, so under the root
logger's handler every Hub warning came out twice; the library's line alone is kept.
"""

from __future__ import annotations

import logging

from huggingface_hub.utils import logging as hub_logging

FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def configure_logging(level: int = logging.INFO) -> None:
    """Log to stderr at ``level``; huggingface_hub's records stay with its own handler, not written twice."""
    logging.basicConfig(level=level, format=FORMAT)
    hub_logging.disable_propagation()
