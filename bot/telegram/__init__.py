"""Telegram plumbing: the Application, update processing, persistence, the outbox dispatcher, the
HTTP request. Knows no feature: handlers register through the composition root (`bot.assemble`)."""
