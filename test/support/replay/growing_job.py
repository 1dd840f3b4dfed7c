"""The replay's "training job": grows its memory step by step, like the seed's Polars/feature-testing jobs,
then holds it (the seed's jobs sat at 63 GB for hours). Forks DataLoader-like workers that hold memory too.

usage: growing_job.py TARGET_MIB STEP_MIB STEP_SECONDS [WORKERS WORKER_MIB]
Prints "grown N" after each step and "holding N" when it reaches the target.
"""
import os
import sys
import time

target, step, pause = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])
workers = int(sys.argv[4]) if len(sys.argv) > 4 else 0
worker_mib = int(sys.argv[5]) if len(sys.argv) > 5 else 0


def touch(mib):
    block = bytearray(mib << 20)
    for i in range(0, len(block), 4096):
        block[i] = 1
    return block


children = []
for _ in range(workers):
    pid = os.fork()
    if pid == 0:
        held = touch(worker_mib)
        while True:
            time.sleep(60)
    children.append(pid)

held = []
total = workers * worker_mib
while total < target:
    n = min(step, target - total)
    held.append(touch(n))
    total += n
    print("grown", total, flush=True)
    time.sleep(pause)
print("holding", total, flush=True)
while True:
    time.sleep(60)
