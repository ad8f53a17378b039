"""The Telegram side: the process around the Application (web endpoints, leadership, the update inbox)."""
