#!/bin/sh
# A job that forks: three children that outlive it. Prints each PID and its cgroup, then exits 0 while they run.
for i in 1 2 3; do
  sleep 300 &
  echo "child $! $(cat /proc/$!/cgroup)"
done
echo "self $$ $(cat /proc/self/cgroup)"
# systemd's view of the job's own unit, and the cgroup files (the job reads its own cgroup from /proc/self/cgroup).
cg="/sys/fs/cgroup$(sed -n 's/^0:://p' /proc/self/cgroup)"
echo "cgroup $cg"
for f in memory.max memory.high memory.swap.max cpu.max memory.oom.group; do
  echo "file $f $(cat "$cg/$f")"
done
unit="$(basename "$cg")"
case "$unit" in
  *.scope) systemctl show "$unit" -p MemoryMax -p MemoryHigh -p MemorySwapMax -p CPUQuotaPerSecUSec -p Slice | sed 's/^/prop /';;
esac
# Read with the shell's own "read": a cat or tr here would itself be one more process in the cgroup.
procs=""
while read -r p; do procs="$procs $p"; done < "$cg/cgroup.procs"
echo "procs${procs}"
