"""examples/migration: one function zip and one requirements file, moved from x86_64/3.9
to arm64/3.13 (README: "Moving a function from x86_64/3.9 to arm64/3.13"). In every cell
the deps layer is built from the same requirements file and the same function zip gives
the same answers; make test-deps runs both cells of the move when their runtimes exist."""
import json
import os
import subprocess
import zipfile

import pytest

from conftest import CELL_ARCH, CELL_PYTHON, ROOT, RUNTIME_ZIP, deps_layer, require_cell, unpack

require_cell()

EXAMPLE = os.path.join(ROOT, "examples", "migration")
ORDER = {"customer": "O'Brien", "lines": [{"sku": "b-2", "quantity": 3, "unit_price": "2.50"},
                                          {"sku": "a-1", "quantity": 1, "unit_price": "10.05"}]}
EXPECTED = {
    "ok": True,
    "receipt": {"customer": "O'Brien", "total": "17.55", "skus": ["a-1", "b-2"]},
    "sql": "'O\\'Brien'",
    "mysql_client": "3",
    "stored_id": None,
}
EXPECTED_INVALID = {"ok": False, "errors": ["lines.0.quantity: greater_than", "lines.1.unit_price: decimal_parsing"]}


@pytest.fixture(scope="module")
def deployed(tmp_path_factory):
    """function.zip and the cell's deps zip, unpacked as Lambda would: (layer root, task root)."""
    d = tmp_path_factory.mktemp("migration")
    fn_zip, deps_zip = d / "function.zip", d / f"deps-py{CELL_PYTHON}-{CELL_ARCH}.zip"
    subprocess.run(["bash", os.path.join(ROOT, "layers", "dist.sh"), "function", EXAMPLE, str(fn_zip)],
                   check=True, capture_output=True)
    proc = deps_layer(REQUIREMENTS=os.path.join(EXAMPLE, "requirements.txt"), PYTHON=CELL_PYTHON, ARCH=CELL_ARCH,
                      TARGET="provided.al2023", OUT=deps_zip, RUNTIME=RUNTIME_ZIP,
                      BOOTSTRAP=os.environ["HOST_BOOTSTRAP"], WORK=d / "work")
    assert proc.returncode == 0, proc.stderr
    with zipfile.ZipFile(fn_zip) as z:
        assert sorted(z.namelist()) == ["app.py", "requirements.txt"]  # arch-neutral: no native file
    task = d / "task"
    unpack(str(task), fn_zip)
    return unpack(str(d / "opt"), RUNTIME_ZIP, deps_zip), str(task)


def test_the_same_function_zip_gives_the_same_answers(deployed, function):
    layer_root, task_root = deployed
    f = function(layer_root, "app.handler", task_root)
    status, body = f.invoke(ORDER)
    assert status == 200, (body, f.output())
    out = json.loads(body)
    runtime = out.pop("runtime")
    assert runtime == {"python": CELL_PYTHON, "machine": {"x86_64": "x86_64", "arm64": "aarch64"}[CELL_ARCH]}
    assert out == EXPECTED
    status, body = f.invoke({"customer": "x", "lines": [{"sku": "a", "quantity": 0, "unit_price": "1"},
                                                        {"sku": "b", "quantity": 1, "unit_price": "one"}]})
    assert json.loads(body) == EXPECTED_INVALID
