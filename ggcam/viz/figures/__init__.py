"""The book's page-level figures and tables: what a page shows, computed here.

The pages hold no logic (``tests/test_structure.py``): every loop of a page lives in this
package, one function per figure or table, named after what it shows. The maths stays where it
is (``ggcam.gaze``, ``ggcam.geometry``, ``ggcam.cam``, ``ggcam.metrics.explain``): nothing here
re-implements Algorithm 1 or a metric, it arranges their results. Results pages get
"figure or note" wrappers: a figure when the store holds its runs, else a Markdown line
saying what is missing, so a page built while a sweep runs never fails.

One module per topic, every name re-exported here (pages call ``figures.<name>``):

* ``dataset``: the data (page 02).
* ``algorithm1``: Algorithm 1 and the grid (page 03).
* ``results``: the CAM layer and Figure 2 (04), training (05), results figures (06-07).
* ``cam_methods``: CAM methods side by side (07).
* ``paper``: the method in one figure (01), the released code (08).
"""

from ggcam.viz.figures.algorithm1 import (
    STRIDE,
    alignment_effect,
    area_vs_stride,
    blur_sweep,
    geometry_table,
    phantom_sizes,
    psi_figure,
    psi_sources,
    receptive_field_centres,
)
from ggcam.viz.figures.cam_methods import (
    cam_methods,
    cam_methods_figure,
    explain_model,
    randomisation_table,
    road_table,
)
from ggcam.viz.figures.dataset import (
    cases_figure,
    class_counts,
    first_case_per_class,
    informativeness_effect,
    sampling_figure,
    split_table,
    tree,
    truth_table,
)
from ggcam.viz.figures.paper import method_figure, paper_vs_code, released_behaviours
from ggcam.viz.figures.results import (
    cam_equivalence,
    config_table,
    figure3,
    omega_edges,
    omega_figure,
    paper_medians,
    rerun_audits,
    run_facts,
    sigma_figure,
    stored_run_config,
    table3_figure,
    train_commands,
    training_figure,
)

__all__ = [
    "STRIDE", "alignment_effect", "area_vs_stride", "blur_sweep", "cam_equivalence", "cam_methods",
    "cam_methods_figure", "cases_figure", "class_counts", "config_table", "explain_model", "figure3",
    "first_case_per_class",
    "geometry_table", "informativeness_effect", "method_figure", "omega_edges", "omega_figure",
    "paper_medians", "paper_vs_code", "phantom_sizes", "psi_figure", "psi_sources",
    "randomisation_table", "receptive_field_centres", "released_behaviours", "rerun_audits",
    "road_table",
    "run_facts", "sampling_figure", "sigma_figure", "split_table", "stored_run_config",
    "table3_figure", "train_commands", "training_figure", "tree", "truth_table",
]
