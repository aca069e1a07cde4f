"""`[core] hostname_callable` for the Celery test: each local worker reports its own name.

Both test workers run on this one machine, so the default (the FQDN) would be the same for both;
CREDIT_TEST_WORKER gives each its own, and the task-instance table then shows which worker ran what.
"""

import os
import socket


def hostname() -> str:
    return os.environ.get("CREDIT_TEST_WORKER") or socket.getfqdn()
