"""Where a submission's hooks run: the worker (standard library only), its isolation layers and limits."""
