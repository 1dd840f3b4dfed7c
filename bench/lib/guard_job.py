"""A job for the guard-latency benchmark (bench/lib/guard-latency.ts), run inside the benchmark's sandbox cgroup.

usage: guard_job.py CGROUP_DIR HOLD_RATIO CROSS_RATIO

Grows until the sandbox's working set (usage - total_inactive_file, as headroom measures it) reaches
HOLD_RATIO of the limit, prints "holding R", waits for a line on stdin, then grows past CROSS_RATIO in one step
and prints "crossed T" (T = CLOCK_MONOTONIC ns when the working set first reads at or above CROSS_RATIO).
On SIGTERM it prints "sigterm T" (CLOCK_MONOTONIC ns) and exits 143. Both times come from this one process:
their difference needs no clock shared with anyone.
"""
import os
import signal
import sys
import time

cgroup, hold, cross = sys.argv[1], float(sys.argv[2]), float(sys.argv[3])


def on_term(*_):
    sys.stdout.write(f"sigterm {time.monotonic_ns()}\n")
    sys.stdout.flush()
    os._exit(143)


signal.signal(signal.SIGTERM, on_term)


def ratio():
    usage = int(open(os.path.join(cgroup, "memory.usage_in_bytes")).read())
    limit = int(open(os.path.join(cgroup, "memory.limit_in_bytes")).read())
    inactive = 0
    for line in open(os.path.join(cgroup, "memory.stat")):
        key, value = line.split()
        if key == "total_inactive_file":
            inactive = int(value)
    return max(0, usage - inactive) / limit


held = []


def grow_to(target, step_mib, report):
    while True:
        r = ratio()
        if r >= target:
            if report:
                sys.stdout.write(f"crossed {time.monotonic_ns()}\n")
                sys.stdout.flush()
            return r
        block = bytearray(step_mib << 20)
        for i in range(0, len(block), 4096):
            block[i] = 1
        held.append(block)


r = grow_to(hold, 4, False)
print("holding", round(r, 4), flush=True)
sys.stdin.readline()
grow_to(cross, 2, True)
while True:
    time.sleep(60)
