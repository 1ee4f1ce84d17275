"""The `flyfs` command."""
