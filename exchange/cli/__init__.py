"""The `exchange` console script and its subcommands."""
