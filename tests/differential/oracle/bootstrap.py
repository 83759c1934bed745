"""The oracle's launcher: what the managed Python runtime's /var/runtime/bootstrap.py does
before it hands over to awslambdaric (AWS_EXECUTION_ENV comes from the harness, as the managed
runtime's shell bootstrap sets it).

It is named bootstrap.py on purpose: awslambdaric drops the leading stack frames whose file
name contains "/bootstrap.py", which is how the managed runtime's launcher frames disappear
from the stack traces users see; so do this file's.
"""

import os
import sys


def set_default_sys_path():
    # "precedence: LAMBDA_TASK_ROOT -> /opt/python/lib/pythonN.N/site-packages -> /opt/python",
    # applied only when PYTHONPATH is not set (the managed runtime's bootstrap.py).
    if os.environ.get("PYTHONPATH"):
        return
    version = "%d.%d" % sys.version_info[:2]
    opt = os.environ.get("ORACLE_OPT", "/opt")  # where the layers are (the benchmarks' deps layer)
    sys.path[0:1] = [os.environ["LAMBDA_TASK_ROOT"],
                     "%s/python/lib/python%s/site-packages" % (opt, version), opt + "/python"]


def main():
    set_default_sys_path()
    from awslambdaric.__main__ import main as awslambdaric_main

    # The managed runtime passes the handler from _HANDLER; the function sees no arguments.
    awslambdaric_main([sys.argv[0], os.environ["_HANDLER"]])


if __name__ == "__main__":
    main()
