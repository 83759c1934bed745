"""A module whose import raises with a non-ASCII message."""
raise ValueError("échec à l'import — 失败")
