"""A module that does not compile."""

def handler(event, context)
    return event
