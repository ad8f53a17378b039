"""`python -m bot` is the same as the `lvzhi` command."""

from bot.cli import main

main()
