"""Shows the handler what the runtime gave it: environment (exact bytes), sys.path, cwd."""
import base64
import os
import sys


def handler(event, context):
    return {
        "environ": {base64.b64encode(k).decode(): base64.b64encode(v).decode() for k, v in os.environb.items()},
        "sys_path": sys.path,
        "cwd": os.getcwd(),
        "prefix": sys.base_prefix,
    }
