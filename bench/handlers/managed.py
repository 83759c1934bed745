# Handlers for the Managed Instances benchmark (bench/managed.py): each waits or works for
# event["ms"] milliseconds and returns the event.
import time


def sleep(event, context):
    time.sleep(event["ms"] / 1000)
    return event


def cpu(event, context):
    end = time.perf_counter() + event["ms"] / 1000
    while time.perf_counter() < end:
        pass
    return event
