"""Telegram plumbing: what talks to the Bot API and what the handlers build their answers with."""
