"""Telegram channel (python-telegram-bot v22): Application, handlers, keyboards, outbox drain."""
