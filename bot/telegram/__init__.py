"""Telegram plumbing: the Application, update processing, persistence, the outbox dispatcher, the
HTTP request, the update inbox, the HTTP server (webhook, health, metrics) and the leadership of one
process. Knows no feature: handlers register through the composition root (`bot.assemble`)."""
