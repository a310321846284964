"""segdemo's Space entry point: load the models once, build the UI, serve."""

from segdemo.logs import configure_logging

configure_logging()  # first: the modules below log at import (a setting typed wrong); starts no thread

from segdemo.stopping import stop_at_once_while_starting  # noqa: E402

if __name__ == "__main__":
    stop_at_once_while_starting()  # a Ctrl-C or SIGTERM before launch ends the start in one line

from segdemo.gpu import import_spaces_first  # noqa: E402
from segdemo.memory import limit_malloc_arenas  # noqa: E402

limit_malloc_arenas()  # before torch and Gradio start their threads: keeps memory flat under load
import_spaces_first()  # on a ZeroGPU Space, before torch touches CUDA; elsewhere nothing

from segdemo.service import SegmentationService  # noqa: E402
from segdemo.ui import build_demo  # noqa: E402
from segdemo.zoo import load_zoo  # noqa: E402

demo = build_demo(SegmentationService(load_zoo()))

if __name__ == "__main__":
    demo.launch()  # segdemo's page and server settings: SegdemoBlocks.launch
