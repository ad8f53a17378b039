"""Domain services: plain functions over a database session, no Telegram (see docs/development.md)."""
