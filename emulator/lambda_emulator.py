#!/usr/bin/env python3
"""The local Lambda emulator's command line (the RIE's): see emulator/README.md.

The code is the package next to this file, emulator/lambda_emu/ (one module per concern).
Importing this file gives the package's public names, as the tests do.
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from lambda_emu import (  # noqa: E402  (after the path set-up above)
    MAX_PAYLOAD, Config, Emulator, Log, build_parser, describe_exit, fmt_address, main,
    parse_address, valid_error_type)

__all__ = ["Config", "Emulator", "Log", "MAX_PAYLOAD", "build_parser", "describe_exit",
           "fmt_address", "main", "parse_address", "valid_error_type"]

if __name__ == "__main__":
    sys.exit(main())
