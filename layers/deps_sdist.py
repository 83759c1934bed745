"""Building a package from its sdist for the layer's target (layers/deps-layer).

build(layer, requirement, name) -> Built, or raises SdistError naming what failed.
"""
import collections

Built = collections.namedtuple("Built", "name version sdist_name sdist_sha256 wheel")


class SdistError(Exception):
    pass


def build(layer, requirement, name):
    raise SdistError(f"no way to build {requirement} for {layer.arch} is known yet")
