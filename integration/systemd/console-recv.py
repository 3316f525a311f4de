# console-recv.py SOCKET OUT: a --console-socket receiver for the systemd VM
# tests. It takes one terminal master (SCM_RIGHTS, the pty's name as the
# payload), writes "name=... tty=True|False" to OUT, then copies what the
# container writes on its terminal into OUT until the terminal closes.
import os
import socket
import sys

path, out = sys.argv[1], sys.argv[2]
srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
srv.bind(path)
srv.listen(1)
conn, _ = srv.accept()
msg, fds, _, _ = socket.recv_fds(conn, 4096, 1)
with open(out, "w") as f:
    if not fds:
        f.write("no fd\n")
        sys.exit(1)
    master = fds[0]
    f.write("name=%s tty=%s\n" % (msg.decode(errors="replace"), os.isatty(master)))
    f.flush()
    while True:
        try:
            data = os.read(master, 4096)
        except OSError:
            break
        if not data:
            break
        f.write(data.decode(errors="replace"))
        f.flush()
