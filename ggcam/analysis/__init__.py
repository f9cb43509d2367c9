"""What a results page says, computed from the results store: summaries of runs (``summary``,
``summary_store``), paired comparisons between arms (``summary_paired``), how the runs trained
(``summary_training``), the sentences pages glue (``summary_text``); the front page's verdicts
and effects (``headline``, ``effects``), where gaze starts to help (``dose``, ``dose_text``),
the checkpoint rule (``checkpoint_rule``), localisation beside constant maps (``image_scores``,
``constant_maps``), what a study cannot tell (``study_limits``, ``first_study``); the paper's
published numbers (``paper_values``) and the benchmark figures (``bench``).
"""
