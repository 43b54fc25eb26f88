"""The `ingest` command line's grammar: help for every option, exit codes documented."""

from ingest_tasks.interfaces.cli import parser
from ingest_tasks.interfaces.cli.console import EXIT_CODES


def test_every_option_has_help():
    top = parser()
    commands = top._subparsers._group_actions[0].choices  # argparse keeps no public list
    for name, command in commands.items():
        for action in command._actions:
            assert action.help, f"ingest {name} {action.option_strings or action.dest}"


def test_the_help_lists_the_exit_codes():
    assert "3  some documents failed" in EXIT_CODES
    assert EXIT_CODES in parser().format_help()
