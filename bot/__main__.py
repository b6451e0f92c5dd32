"""`python -m bot`: the same as the `incident-bot` command (bot/cli.py)."""

from bot.cli import main

if __name__ == "__main__":
    main()
