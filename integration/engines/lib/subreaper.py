#!/usr/bin/env python3
# subreaper.py CMD [ARGS...]: become a child subreaper (prctl PR_SET_CHILD_SUBREAPER, kept across
# execve), then exec CMD. ns-run.sh runs under it so that the processes the engines double-fork
# (conmon, containerd-shim) are reparented to, and reaped by, our bash instead of this machine's
# PID 1, which reaps late: Podman polls conmon's pid and a zombie conmon makes
# `podman run -t` hang after the container has exited.
import ctypes
import os
import sys

PR_SET_CHILD_SUBREAPER = 36
libc = ctypes.CDLL(None, use_errno=True)
if libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
    sys.exit("subreaper: prctl: " + os.strerror(ctypes.get_errno()))
os.execvp(sys.argv[1], sys.argv[1:])
