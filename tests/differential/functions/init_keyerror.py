"""A module whose import raises deep inside a helper."""


def _config():
    return {}["MISSING_SETTING"]


SETTING = _config()
