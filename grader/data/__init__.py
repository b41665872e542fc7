"""What a grading reads: the policy, its suites and rubric, the ground truth, and their validation."""
