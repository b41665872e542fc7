"""Class grading: a folder of submissions graded in parallel into a gradebook and a dashboard."""
