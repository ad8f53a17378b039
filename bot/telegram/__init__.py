"""Telegram plumbing: the Application, update processing, persistence, the outbox dispatcher, the
HTTP request, the update inbox, the HTTP server (webhook, health, metrics), the leadership of one
process, and the UI kit the handlers build their answers with (`ui`). Knows no feature:
handlers register through the composition root (`bot.assemble`)."""
