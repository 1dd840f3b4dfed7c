"""The replay's "training job": grows its memory step by step like the seed's Polars / feature-testing jobs,
then holds it (the seed's jobs sat at 63 GB for hours). Forks DataLoader-like workers that hold memory too.

usage: growing_job.py CGROUP_DIR HOLD_RATIOS REPORT_RATIOS STEP_MIB STEP_SECONDS WORKERS WORKER_MIB

CGROUP_DIR is the v1 memory cgroup whose limit is the job's "machine" (the replay's sandbox). The job grows
until the sandbox's working set (usage - total_inactive_file, as headroom computes it) reaches each ratio of
HOLD_RATIOS (comma-separated) in turn; at every ratio but the last it waits for SIGUSR1 before growing on.
Whenever the ratio first reaches one of REPORT_RATIOS it prints "crossed R EPOCH_MS". Prints "pid N" at
start, "holding R" at each hold. Exits only when killed.
"""
import os
import signal
import sys
import time

cgroup, holds, reports = sys.argv[1], [float(x) for x in sys.argv[2].split(",")], [float(x) for x in sys.argv[3].split(",")]
step_mib, pause, workers, worker_mib = int(sys.argv[4]), float(sys.argv[5]), int(sys.argv[6]), int(sys.argv[7])


def ratio():
    usage = int(open(os.path.join(cgroup, "memory.usage_in_bytes")).read())
    limit = int(open(os.path.join(cgroup, "memory.limit_in_bytes")).read())
    inactive = 0
    for line in open(os.path.join(cgroup, "memory.stat")):
        key, value = line.split()
        if key == "total_inactive_file":
            inactive = int(value)
    return max(0, usage - inactive) / limit


def touch(mib):
    block = bytearray(mib << 20)
    for i in range(0, len(block), 4096):
        block[i] = 1
    return block


go_on = [False]
signal.signal(signal.SIGUSR1, lambda *_: go_on.__setitem__(0, True))

print("pid", os.getpid(), flush=True)
for _ in range(workers):
    if os.fork() == 0:
        held = touch(worker_mib)
        signal.pause()
        os._exit(0)

held = []
reported = set()
for index, hold in enumerate(holds):
    while True:
        r = ratio()
        for mark in reports:
            if r >= mark and mark not in reported:
                reported.add(mark)
                print("crossed", mark, int(time.time() * 1000), flush=True)
        if r >= hold:
            break
        held.append(touch(step_mib))
        time.sleep(pause)
    print("holding", round(r, 4), flush=True)
    if index < len(holds) - 1:
        go_on[0] = False
        while not go_on[0]:
            time.sleep(0.05)
while True:
    time.sleep(60)
