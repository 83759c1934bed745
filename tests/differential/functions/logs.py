"""Handlers that write to the log in every way user code does: print, sys.stdout/stderr,
logging (root and named loggers, every level, exceptions, extra fields, dict messages),
context.log, and all of these from threads."""
import logging
import sys
import threading

logger = logging.getLogger("app")


def everything(event, context):
    print("print line")
    print("multi\nline print")
    print("no newline", end="")
    print()
    sys.stdout.write("stdout write\n")
    sys.stderr.write("stderr write\n")
    logger.critical("critical from app")
    logger.error("error from app")
    logger.warning("warning from app %s", "with args")
    logger.info("info from app")
    logger.debug("debug from app")
    logging.warning("warning from root")
    logger.warning({"a": "dict", "n": 1})
    logger.warning("with extra", extra={"order": 42, "user": "u1"})
    logger.warning("unicode é 你好 🎉")
    logger.warning("multi\nline\nmessage")
    try:
        {}["missing"]
    except KeyError:
        logger.exception("caught")
    context.log("context.log line\n")
    context.log("context.log without newline")
    return "logged"


def from_threads(event, context):
    def work(n):
        print("print from thread %d" % n)
        logger.warning("warning from thread %d", n)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(3)]
    for t in threads:
        t.start()
        t.join()
    logging.getLogger("app.child").error("error from child logger")
    return "threads done"


def at_import_level(event, context):
    return [logging.getLevelName(logging.getLogger().level), logger.getEffectiveLevel()]


logger.warning("warning at import")
print("print at import")
