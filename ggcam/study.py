"""The study's vocabulary: the classes (arms and networks join them here).

The lowest layer of ggcam: the maths, metrics and data layers all import their names from here,
so ``import ggcam`` never has to load the data layer to know what label 1 means.
"""

from __future__ import annotations

CLASS_NAMES = ("Normal", "CHF", "pneumonia")  # label 0, 1, 2; the master sheet's column names
CLASS_KEYS = {name.lower(): name for name in CLASS_NAMES}  # column suffix ("chf") → class name
PAPER_CLASS_NAMES = ("Normal", "Cardiomegaly", "Pneumonia")  # what the paper calls them
