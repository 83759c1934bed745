"""The soak reuses tests/reliability's fixtures (and through them tests/integration's harness)."""
import importlib.util
import os
import sys

_spec = importlib.util.spec_from_file_location(
    "reliability_conftest", os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "reliability",
                                         "conftest.py"))
reliability = importlib.util.module_from_spec(_spec)
sys.modules["reliability_conftest"] = reliability
_spec.loader.exec_module(reliability)

function = reliability.function
