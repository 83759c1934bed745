"""Handlers that write to the log."""
import logging
import sys

logger = logging.getLogger("app")


def handler(event, context):
    print("hello from print")
    sys.stderr.write("hello from stderr\n")
    logger.warning("a warning from logging")
    logger.info("an info from logging")
    logger.debug("a debug from logging")
    context.log("from context.log\n")
    return "logged"


def log_exception(event, context):
    try:
        raise KeyError("missing")
    except KeyError:
        logger.exception("caught it", extra={"order": 42})
    return "ok"
