# Local Lambda emulator (emulator/lambda_emulator.py, the package emulator/lambda_emu/) and its own tests.
#
#   make test-emulator    the emulator's tests (a fake Python runtime; no C bootstrap needed)
#   make run              (top-level Makefile) serves examples/ through this emulator
#
# The emulator takes the RIE's command line (see emulator/README.md):
#   $(PYTHON) emulator/lambda_emulator.py [--runtime-interface-emulator-address H:P]
#       [--runtime-api-address H:P] [--eager] [--port-file F] [--extensions-dir D] BOOTSTRAP [ARGS...]

.PHONY: test-emulator
test-emulator:
	$(PYTHON) -m pytest -q -p no:cacheprovider tests/emulator

TEST_TARGETS += test-emulator
