"""Run pip as if it ran on the target: the Lambda runtime's Python version and CPU.

    <venv>/bin/python layers/pip_target_env.py ENV_JSON -- PIP_ARGS...

pip's --platform/--python-version/--implementation/--abi choose wheels for another
interpreter, but pip still evaluates environment markers (`; python_version < "3.11"`,
`; platform_machine == "aarch64"`) against the interpreter running it, so a layer for
Python 3.9 built by a 3.11 pip would miss the dependencies only 3.9 needs
(cryptography's typing-extensions, for one). This runs the pinned pip (layers/deps_pip.py)
with its marker environment replaced by ENV_JSON's, which describes the target.
"""
import json
import sys


def main(argv):
    if len(argv) < 3 or argv[2] != "--":
        sys.stderr.write("usage: pip_target_env.py ENV_JSON -- PIP_ARGS...\n")
        return 2
    target = json.loads(argv[1])

    from pip._vendor.packaging import markers

    def target_environment():
        return dict(target)

    # Both names: Marker.evaluate calls default_environment(), which reads the cached one.
    markers.default_environment = target_environment
    if hasattr(markers, "_cached_default_environment"):
        markers._cached_default_environment = target_environment

    from pip._internal.cli.main import main as pip_main

    return pip_main(argv[3:])


if __name__ == "__main__":
    sys.exit(main(sys.argv))
