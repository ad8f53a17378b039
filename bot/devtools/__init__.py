"""Developer tools that ship with the bot: the Bot API emulator and the sandbox (`lvzhi sandbox`)."""
