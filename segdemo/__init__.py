"""segdemo: FCN and SegNet semantic segmentation on CamVid, with uncertainty, as a Gradio Space."""

__version__ = "0.1.0"
