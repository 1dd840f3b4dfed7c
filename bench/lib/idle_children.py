"""Idle processes for `npm run bench` (bench/scrape.ts).

Usage: python3 idle_children.py N

Forks N children that do nothing but wait for a signal, prints one line "pid <PID>" per child, then
"ready <N>". It keeps the PIDs it forked and, when its stdin reaches EOF (the benchmark closed it or died) or it
gets SIGTERM/SIGINT/SIGHUP, sends SIGKILL to exactly those PIDs, reaps each with waitpid, prints "reaped <R> gone <G>"
and exits. Each child also asks the kernel for SIGKILL when this parent dies (PR_SET_PDEATHSIG), so no child
outlives it even if the parent is killed with SIGKILL. Nothing else is ever signalled.
"""
import ctypes
import os
import signal
import sys

PR_SET_PDEATHSIG = 1
MAX_CHILDREN = 20000


class Stop(Exception):
    """Raised by the signal handler to leave the wait."""


def main() -> int:
    if len(sys.argv) != 2 or not sys.argv[1].isdigit():
        print("usage: idle_children.py N", file=sys.stderr)
        return 2
    n = int(sys.argv[1])
    if n < 1 or n > MAX_CHILDREN:
        print(f"N must be between 1 and {MAX_CHILDREN}, got {n}", file=sys.stderr)
        return 2
    libc = ctypes.CDLL(None, use_errno=True)
    parent = os.getpid()
    children: list[int] = []
    signals = {signal.SIGTERM, signal.SIGINT, signal.SIGHUP}

    def stop(signum: int, _frame: object) -> None:
        raise Stop(signum)

    for sig in signals:
        signal.signal(sig, stop)
    # While forking, stop signals stay pending, so every forked PID is recorded before a signal is handled.
    signal.pthread_sigmask(signal.SIG_BLOCK, signals)
    try:
        for _ in range(n):
            pid = os.fork()
            if pid == 0:
                # Child: default signal dispositions, die with the parent, then sleep until killed.
                for sig in signals:
                    signal.signal(sig, signal.SIG_DFL)
                signal.pthread_sigmask(signal.SIG_UNBLOCK, signals)
                if libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) != 0 or os.getppid() != parent:
                    os._exit(1)
                while True:
                    signal.pause()
            children.append(pid)
            sys.stdout.write(f"pid {pid}\n")
        sys.stdout.write(f"ready {len(children)}\n")
        sys.stdout.flush()
        signal.pthread_sigmask(signal.SIG_UNBLOCK, signals)
        # Wait until the benchmark closes stdin (EOF) or a stop signal arrives (Stop is raised).
        while sys.stdin.buffer.read1(4096):
            pass
    except Stop as stopped:
        sys.stderr.write(f"idle_children: stopping on signal {stopped.args[0]}\n")
    finally:
        signal.pthread_sigmask(signal.SIG_BLOCK, signals)
        gone = 0
        for pid in children:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                gone += 1  # cannot happen for an unreaped child; counted, not hidden
        reaped = 0
        for pid in children:
            try:
                os.waitpid(pid, 0)
                reaped += 1
            except ChildProcessError:
                gone += 1
        sys.stdout.write(f"reaped {reaped} gone {gone}\n")
        sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
