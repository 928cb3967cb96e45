"""Logs never carry update contents above DEBUG, whatever the libraries log.

python-telegram-bot logs the data it failed to parse (a whole batch: chat ids, names, texts) and
httpx logs every request URL (the bot token is in it). This filter, on every logger of those
libraries, keeps a record's fixed message and replaces its arguments by their type names, and an
exception by its type name only, for every record above DEBUG; DEBUG stays whole for a developer
on their own machine.
"""

from __future__ import annotations

import logging

LIBRARIES = ("telegram", "httpx", "httpcore", "aiohttp", "apscheduler")


class NoContentFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno <= logging.DEBUG:
            return True
        if record.args:
            values = record.args.values() if isinstance(record.args, dict) else record.args
            shown = tuple(f"<{type(v).__name__}>" for v in values)
            record.msg = str(record.msg) + (" [" + ", ".join(shown) + "]")
            record.args = None
        if record.exc_info and record.exc_info[1] is not None:
            record.msg = f"{record.msg} ({type(record.exc_info[1]).__name__})"
        record.exc_info = None
        record.exc_text = None
        record.stack_info = None
        return True


_FILTER = NoContentFilter()


def install_log_filter() -> None:
    """Put the filter on every logger the libraries have made (they make them at import)."""
    import telegram.ext  # noqa: F401  (all of its module loggers exist after this)

    names = [
        name for name in list(logging.root.manager.loggerDict) if name.split(".", 1)[0] in LIBRARIES
    ]
    for name in (*LIBRARIES, *names):
        logger = logging.getLogger(name)
        if _FILTER not in logger.filters:
            logger.addFilter(_FILTER)
