"""A module of the test's layer (mounted at /opt, as Lambda mounts layers)."""


def hello(name):
    return f"Hello, {name}, from a layer!"
