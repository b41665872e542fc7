"""The playground: try a submission's hooks by hand, on the command line or in a browser page."""
