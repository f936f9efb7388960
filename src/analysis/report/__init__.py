"""The report: the notebook runner (``runner``), one prepared study per run (``study``), and
the pages' helpers (quality, profiles, figures, narrative, planner, method_check, progress)."""
