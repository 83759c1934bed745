#!/usr/bin/env python3
"""The registry schemas cfn-lint needs for runtime.yaml:  schemas.py OUTDIR

cfn-lint 1.58.0 (the newest on PyPI when this was written) knows neither the customer-managed
runtime resource types nor what AWS::Lambda::Function gained for them. OUTDIR gets:
  - schemas/aws-lambda-runtime*.json as they are (written by hand from the CloudFormation
    Template Reference: deploy/README.md);
  - cfn-lint's own schema of AWS::Lambda::Function with schemas/aws-lambda-function.patch.json
    applied (Runtime 'custom', the RuntimeConfig property, and the rule that they go together).
Run it with the Python that has cfn-lint; then `cfn-lint --registry-schemas OUTDIR TEMPLATE`.
"""

import copy
import json
import os
import shutil
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
PATCH = os.path.join(HERE, "schemas", "aws-lambda-function.patch.json")


def patched_function_schema(region="us-east-1"):
    from cfnlint.schema import PROVIDER_SCHEMA_MANAGER

    with open(PATCH) as f:
        patch = json.load(f)
    schema = copy.deepcopy(PROVIDER_SCHEMA_MANAGER.get_resource_schema(region, patch["typeName"]).schema)
    runtime = schema["properties"]["Runtime"]
    if "enum" in runtime:
        runtime["enum"] = sorted(set(runtime["enum"]) | set(patch["addRuntimes"]))
    for name, prop in patch["addProperties"].items():
        if name in schema["properties"]:
            raise SystemExit(f"schemas.py: cfn-lint already knows {patch['typeName']}.{name}: drop the patch")
        schema["properties"][name] = prop
    schema.setdefault("definitions", {}).update(patch["addDefinitions"])
    schema["allOf"] = schema.get("allOf", []) + patch["addAllOf"]
    return schema


def main(argv):
    if len(argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    out = argv[1]
    shutil.rmtree(out, ignore_errors=True)
    os.makedirs(out)
    for name in sorted(os.listdir(os.path.join(HERE, "schemas"))):
        if name.endswith(".json") and not name.endswith(".patch.json"):
            shutil.copy(os.path.join(HERE, "schemas", name), out)
    with open(os.path.join(out, "aws-lambda-function.json"), "w") as f:
        json.dump(patched_function_schema(), f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
