"""The grading engine: plan, stages, cases, scoring, and the replay that explains a case."""
