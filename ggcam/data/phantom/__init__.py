"""The phantom: a synthetic EGD-CXR + MIMIC-CXR release in the real on-disk layout.

``generate`` writes it (``make_phantom``), from ``anatomy`` (the drawn chest), ``draw`` (one
case), ``tables`` (the release's CSVs) and ``files`` (DICOMs, masks); ``marker`` proves a folder
is a phantom and ``ownership`` refuses to touch what no phantom wrote; ``reader`` simulates
the radiologist's gaze; ``truth`` reads what only a phantom knows (the true findings). The
generator loads only when used.
"""


def __getattr__(name: str):
    if name in ("make_phantom", "phantom_params"):
        from ggcam.data.phantom import generate

        return getattr(generate, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
