#!/usr/bin/env python3
"""cfn-lint with customer-managed runtimes:  lint.py [cfn-lint arguments] TEMPLATE...

Runs cfn-lint (the Python running this must have it: make test-cloudformation's venv) with
--registry-schemas of schemas.py, built into a temporary directory, and one fix: cfn-lint 1.58.0
validates the properties of a registry schema's resource type only when the type is also in its
own provider list (ProviderSchemaManager.get_resource_schemas_by_regions looks types up there),
so a new type such as AWS::Lambda::Runtime was accepted with any properties at all. Here the
registry's types are added to that list (tests/cloudformation shows both: the bug, and the
mistakes caught with the fix).
"""

import os
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import schemas  # noqa: E402
from cfnlint.schema import manager  # noqa: E402

_load_provider_module = manager.ProviderSchemaManager._load_provider_module


def _with_registry_types(self, region):
    types = _load_provider_module(self, region)
    for name in self._registry_schemas:
        types.setdefault(name, "registry:" + name)
    return types


def main(argv):
    with tempfile.TemporaryDirectory(prefix="cfn-registry-") as registry:
        schemas.main(["schemas.py", registry])
        manager.PROVIDER_SCHEMA_MANAGER.reset()  # schemas.py read (and cached) cfn-lint's own Function schema
        manager.ProviderSchemaManager._load_provider_module = _with_registry_types
        from cfnlint.runner import main as cfn_lint

        sys.argv = ["cfn-lint", "--registry-schemas", registry, *argv[1:]]
        try:
            cfn_lint()
        except SystemExit as e:
            return e.code
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
