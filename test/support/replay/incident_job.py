"""One of the incident replay's independent jobs (issue 14): the seed's "parallel feature testing" — many
copies of one script, each its own process tree, growing together past the machine's memory.

usage: incident_job.py NAME STEP_MIB STEP_SECONDS CAP_MIB CHILD_MIB

Forks one child that holds CHILD_MIB (the tree has two processes), prints "pid N child M", then grows by
STEP_MIB every STEP_SECONDS until it holds CAP_MIB, printing "held NAME MIB EPOCH_MS" at every step. Holds
until killed (SIGTERM's default action ends it).
"""
import os
import signal
import sys
import time

name, step_mib, pause, cap_mib, child_mib = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])


def touch(mib):
    block = bytearray(mib << 20)
    for i in range(0, len(block), 4096):
        block[i] = 1
    return block


child = os.fork()
if child == 0:
    held_child = touch(child_mib)
    signal.pause()
    os._exit(0)

print("pid", os.getpid(), "child", child, flush=True)
held = []
total = 0
while True:
    if total < cap_mib:
        held.append(touch(step_mib))
        total += step_mib
        print("held", name, total, int(time.time() * 1000), flush=True)
    time.sleep(pause)
