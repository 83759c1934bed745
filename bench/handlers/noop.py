# The benchmark's handler: does nothing and returns the event, so the same
# function serves the warm no-op runs and the 1 KB / 256 KB / 6 MB echoes.
def handler(event, context):
    return event
