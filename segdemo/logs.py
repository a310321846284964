"""The app's logging: one line per message, each with its time, level and logger.

huggingface_hub 2.4 gives its loggers a handler of their own and lets them propagate too, so under the root
logger's handler every Hub warning came out twice; the library's line alone is kept.
"""

from __future__ import annotations

import logging
import warnings

# In a notebook without ipywidgets, tqdm.auto (huggingface_hub imports it) warned "IProgress not found. Please update
# jupyter and ipywidgets", in red above the app's first line: advice for a widget progress bar, where tqdm draws its
# text one instead; nothing for a notebook running the app to do (tests/test_notebook.py)
warnings.filterwarnings("ignore", message="IProgress not found")

from huggingface_hub.utils import logging as hub_logging  # noqa: E402

FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def configure_logging(level: int = logging.INFO) -> None:
    """Log to stderr at ``level``; huggingface_hub's records stay with its own handler, not written twice."""
    logging.basicConfig(level=level, format=FORMAT)
    hub_logging.disable_propagation()
