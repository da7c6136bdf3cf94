"""The engine: the op registry and its backends, graphs, the parser, forward and backward passes.

Nothing here imports the views, the checks, the command line or the report."""
