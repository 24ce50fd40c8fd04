"""One module per `stepgrad` subcommand; each exposes `command` (a click.Command)."""
