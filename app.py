"""segdemo's Space entry point: load the models once, build the UI, serve."""

import logging

from segdemo.ui import SegmentationService, build_demo, launch
from segdemo.zoo import load_zoo

logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")

demo = build_demo(SegmentationService(load_zoo()))

if __name__ == "__main__":
    launch(demo)
