"""deploy/cloudformation/runtime.yaml, validated offline by cfn-lint (pinned, make
test-cloudformation installs it under build/) through deploy/cloudformation/lint.py (the
registry schemas of schemas.py, and the fix that makes cfn-lint apply them to new types); each
schema shown to catch the mistake it is there for.

Environment (set by mk/image.mk): CFN_LINT_PYTHON, the venv's Python."""

import os
import re
import subprocess

import pytest

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
DEPLOY = os.path.join(ROOT, "deploy", "cloudformation")
TEMPLATE = os.path.join(DEPLOY, "runtime.yaml")
PYTHON = os.environ.get("CFN_LINT_PYTHON", "")
NEW_TYPES = ["AWS::Lambda::Runtime", "AWS::Lambda::RuntimeVersion", "AWS::Lambda::RuntimeAlias"]


@pytest.fixture(scope="module")
def registry(tmp_path_factory):
    if not os.access(PYTHON, os.X_OK):
        pytest.fail(f"CFN_LINT_PYTHON={PYTHON!r} is not the cfn-lint venv's Python (make test-cloudformation)")
    out = str(tmp_path_factory.mktemp("registry"))
    subprocess.run([PYTHON, os.path.join(DEPLOY, "schemas.py"), out], check=True)
    return out


def run(args):
    done = subprocess.run(args, capture_output=True, text=True)
    return done.returncode, done.stdout + done.stderr


def lint(path):
    """deploy/cloudformation/lint.py: how the template is meant to be checked."""
    return run([PYTHON, os.path.join(DEPLOY, "lint.py"), "--", path])


def cfn_lint(path, registry=None):
    """cfn-lint itself, with or without the registry schemas."""
    args = [os.path.join(os.path.dirname(PYTHON), "cfn-lint")]
    if registry:
        args += ["--registry-schemas", registry]
    return run(args + ["--", path])


def variant(tmp_path, old, new):
    """runtime.yaml with one change, as a file."""
    with open(TEMPLATE) as f:
        text = f.read()
    assert old in text, f"runtime.yaml no longer has {old!r}: update this test"
    path = tmp_path / "variant.yaml"
    path.write_text(text.replace(old, new, 1))
    return str(path)


def test_the_template_passes():
    rc, out = lint(TEMPLATE)
    assert rc == 0, out


def test_stock_cfn_lint_does_not_know_the_resource_types():
    """Why the schemas exist. When this fails, cfn-lint knows customer-managed runtimes: compare
    its schemas with deploy/cloudformation/schemas/ and drop ours."""
    rc, out = cfn_lint(TEMPLATE)
    assert rc != 0
    for t in NEW_TYPES:
        assert f"Resource type '{t}' does not exist" in out, out
    assert "'RuntimeConfig' was unexpected" in out, out


@pytest.mark.parametrize("old,new,expected", [
    # A required property of RuntimeConfig missing.
    ("        RuntimeAlias: !Ref AliasName\n", "", r"E3003 'RuntimeAlias' is a required property"),
    # Runtime: custom without RuntimeConfig.
    ("      RuntimeConfig:\n        RuntimeArn: !GetAtt Runtime.RuntimeArn\n        RuntimeAlias: !Ref AliasName\n", "",
     r"'RuntimeConfig' is a required property"),
    # RuntimeConfig with a managed runtime.
    ("      Runtime: custom\n", "      Runtime: provided.al2023\n", r"'custom' was expected"),
    # A misspelt property of a runtime version.
    ("      ImageUri: !Ref ImageUri\n", "      Image: !Ref ImageUri\n", r"E3002 Additional properties are not allowed \('Image'"),
    # An alias name the API refuses.
    ("      Name: !Ref AliasName\n", "      Name: -stable-\n", r"E3031 '-stable-' does not match"),
    # An alias without its version.
    ("      RuntimeVersion: !Ref AliasVersion\n", "", r"E3003 'RuntimeVersion' is a required property"),
    # An attribute the runtime does not have.
    ("RuntimeArn: !GetAtt Runtime.RuntimeArn", "RuntimeArn: !GetAtt Runtime.Arn", r"E1010 .*'Arn'"),
    # A runtime name with capitals.
    ("      Name: !Ref RuntimeName\n", "      Name: Bootstrap\n", r"E3031 'Bootstrap' does not match"),
])
def test_the_schemas_catch(tmp_path, old, new, expected):
    rc, out = lint(variant(tmp_path, old, new))
    assert rc != 0 and re.search(expected, out), out


def test_plain_registry_schemas_miss_a_new_types_mistakes(registry, tmp_path):
    """Why lint.py exists: cfn-lint 1.58.0 --registry-schemas accepts a misspelt property of a type
    it has no provider schema of. When this fails, cfn-lint applies registry schemas to new types
    itself: lint.py's fix can go."""
    broken = variant(tmp_path, "      ImageUri: !Ref ImageUri\n", "      Image: !Ref ImageUri\n")
    rc, out = cfn_lint(broken, registry)
    assert "'Image' was unexpected" not in out, out
