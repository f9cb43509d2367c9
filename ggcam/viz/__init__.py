"""Presentation: Matplotlib figures of the paper (``paper_figures``: Figures 2-3; ``maps``:
Table 3; ``training``: curves), the shared plot style (``style``), tables and notes for pages
(``report``), and what each book page shows (``figures``). Nothing here computes a metric.
"""
