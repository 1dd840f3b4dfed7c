"""Prints a cgroup v2 fixture tree of this machine as JSON {relative path: file text}: the files the exporter
reads, for the root and the cgroups a headroom machine has (init.scope, system.slice with ssh.service and the
agent, user.slice, headroom.slice with one job's slice and scope). The job's run id is renamed to a stable one.
usage: capture-v2.py JOB_SLICE_DIR_NAME JOB_SCOPE_DIR_NAME
"""
import json, os, sys

root = "/sys/fs/cgroup"
job_slice, job_scope = sys.argv[1], sys.argv[2]
dirs = [
    "",
    "init.scope",
    "system.slice",
    "system.slice/ssh.service",
    "system.slice/headroom-agent.service",
    "user.slice",
    "headroom.slice",
    f"headroom.slice/{job_slice}",
    f"headroom.slice/{job_slice}/{job_scope}",
]
files = ["cgroup.controllers", "cgroup.subtree_control", "cgroup.procs", "memory.current", "memory.peak",
         "memory.max", "memory.high", "memory.low", "memory.min", "memory.events", "memory.stat",
         "memory.pressure", "memory.swap.current", "memory.swap.max", "memory.oom.group"]
out = {}
for d in dirs:
    for f in files:
        p = os.path.join(root, d, f)
        if not os.path.exists(p):
            continue
        # The root has no memory.current/max etc. on v2; cgroup.procs of the root lists every process: left out.
        if d == "" and f == "cgroup.procs":
            continue
        with open(p) as fh:
            out[os.path.join(d, f)] = fh.read()
print(json.dumps(out))
