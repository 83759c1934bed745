# Local Lambda emulator (emulator/lambda_emulator.py) and its tests.
#
#   make test-emulator        the emulator's own tests (fake runtime, no C bootstrap)
#   make run-emulator         serve $(EMULATOR_TASK_ROOT) through ./bootstrap on 127.0.0.1:9000
#
# The emulator takes the RIE's command line:
#   $(PYTHON) emulator/lambda_emulator.py [--runtime-interface-emulator-address H:P]
#       [--runtime-api-address H:P] [--eager] [--port-file F] BOOTSTRAP [ARGS...]

EMULATOR           := emulator/lambda_emulator.py
EMULATOR_ADDRESS   ?= 127.0.0.1:9000
EMULATOR_HANDLER   ?= app.handler
EMULATOR_TASK_ROOT ?= examples
EMULATOR_BOOTSTRAP ?= ./bootstrap

.PHONY: test-emulator run-emulator
test-emulator:
	$(PYTHON) -m pytest -q -p no:cacheprovider tests/emulator

run-emulator:
	LAMBDA_TASK_ROOT=$(abspath $(EMULATOR_TASK_ROOT)) \
	  $(PYTHON) $(EMULATOR) --runtime-interface-emulator-address $(EMULATOR_ADDRESS) --runtime-api-address 127.0.0.1:0 \
	  $(EMULATOR_BOOTSTRAP) $(EMULATOR_HANDLER)

TEST_TARGETS += test-emulator
