import sys

try:
    from .cli import cli
except KeyboardInterrupt:  # Ctrl-C while starting: nothing was done yet
    sys.exit(130)

cli(prog_name="python -m grader")
