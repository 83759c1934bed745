"""Generated events (random mutations of JSON documents plus a hand-written list) decoded by
simplejson, awslambdaric's decoder, and by the bootstrap's decoder: the same value or the same
error message for every one. Runs in the oracle's interpreter (DIFF_ORACLE_PYTHON), so it
checks the _json scanner of the Python version under test."""

import json
import os
import subprocess

import pytest

import harness

HERE = os.path.dirname(os.path.abspath(__file__))


@pytest.mark.parametrize("seed", [12, 7])
def test_decoding_matches_simplejson(seed):
    oracle = os.environ.get("DIFF_ORACLE_PYTHON")
    if not oracle:
        pytest.fail("DIFF_ORACLE_PYTHON is not set (run it with make test-differential)")
    out = subprocess.run([oracle, os.path.join(HERE, "json_corpus.py"), os.path.join(harness.ROOT, "src"),
                          str(seed), "4000"], capture_output=True, text=True, timeout=300, check=True).stdout
    lines = [json.loads(line) for line in out.splitlines()]
    summary = lines[-1]
    assert summary["inputs"] > 4000
    assert summary["mismatches"] == 0, "\n".join(json.dumps(m, ensure_ascii=True) for m in lines[:-1][:20])
