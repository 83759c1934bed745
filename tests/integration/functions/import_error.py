"""A module whose import fails on a missing dependency."""
import no_such_dependency_here  # noqa: F401


def handler(event, context):
    return event
