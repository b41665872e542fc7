"""Report writers: each reads a GradeResult and writes one format."""
