import os
import sys


def handler(event, context):
    return {"sys_path": sys.path, "ld_library_path": os.environ.get("LD_LIBRARY_PATH"),
            "env_keys": sorted(os.environ)}
