"""The `lpr-ray` command: one module per sub-command, each with `register(subparsers)`."""
