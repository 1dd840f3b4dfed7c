"""A stand-in for sshd in the crisis replay: answers "ping" with "pong" on a loopback TCP port.

It names itself "sshd" (prctl PR_SET_NAME) and sets oom_score_adj to -1000, as the real sshd does, so the
same protections apply to it. Prints "ready PORT" once it listens. Runs until killed (by PID, by the test).
"""
import ctypes
import socket
import sys
import threading

PR_SET_NAME = 15
ctypes.CDLL(None).prctl(PR_SET_NAME, b"sshd", 0, 0, 0)
try:
    with open("/proc/self/oom_score_adj", "w") as f:
        f.write("-1000")
except OSError as error:  # not root: the comm still protects it
    print(f"oom_score_adj not set: {error}", file=sys.stderr, flush=True)


def serve(conn):
    with conn:
        for line in conn.makefile("rb"):
            if line.strip() == b"ping":
                conn.sendall(b"pong\n")


server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
server.bind(("127.0.0.1", 0))
server.listen(16)
print("ready", server.getsockname()[1], flush=True)
while True:
    conn, _ = server.accept()
    threading.Thread(target=serve, args=(conn,), daemon=True).start()
