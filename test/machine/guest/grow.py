"""Grows resident memory at a steady rate, touching every page (a Polars-like job that never stops growing).

usage: grow.py RATE_MIB_PER_S MAX_MIB [WORKERS]
With WORKERS > 0 the parent forks that many workers that grow too (DataLoader-like); the total rate is shared.
Prints one line per second: "grown N MiB". Stops growing at MAX_MIB (per process) and then sleeps.
"""
import os, sys, time

rate = float(sys.argv[1])
limit = int(sys.argv[2])
workers = int(sys.argv[3]) if len(sys.argv) > 3 else 0
procs = workers + 1
per = rate / procs
chunk = 1024 * 1024
parent = os.getpid()
if workers:
    for _ in range(workers):
        if os.fork() == 0:
            break
held = []
start = time.monotonic()
last = 0
while True:
    want = min(limit, int(per * (time.monotonic() - start)))
    while len(held) < want:
        b = bytearray(chunk)
        for i in range(0, chunk, 4096):
            b[i] = 1
        held.append(b)
    now = int(time.monotonic() - start)
    if now != last and os.getpid() == parent:
        print(f"grown {len(held)} MiB", flush=True)
    last = now
    time.sleep(0.02)
