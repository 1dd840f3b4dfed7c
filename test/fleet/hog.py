"""A memory hog for the fleet test: grows to TARGET_MIB in STEP_MIB steps (pages touched, so resident), prints
"ready" and sleeps until killed. Run only inside a hard-limited cgroup (the test makes one of 512 MiB)."""
import sys
import time

target_mib = int(sys.argv[1])
step_mib = int(sys.argv[2]) if len(sys.argv) > 2 else 32
delay = float(sys.argv[3]) if len(sys.argv) > 3 else 0.05
chunks = []
held = 0
while held < target_mib:
    n = min(step_mib, target_mib - held) * 1024 * 1024
    b = bytearray(n)
    b[::4096] = b"\x01" * len(range(0, n, 4096))
    chunks.append(b)
    held += n // (1024 * 1024)
    time.sleep(delay)
print("ready", flush=True)
while True:
    time.sleep(3600)
