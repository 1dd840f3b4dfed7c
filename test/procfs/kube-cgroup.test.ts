import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseKubePodCgroup } from '../../src/procfs/parse/kube-cgroup.js';
import { memoryCgroupPath, parsePidCgroup } from '../../src/procfs/parse/pid-misc.js';

const UID = '6f1c9a52-3b7e-4d21-9a0c-2f8e4b7d1c30';
const CID = '4e2b1c9d8f7a6e5d4c3b2a1908f7e6d5c4b3a29180f7e6d5c4b3a2918070f6e5';

/** A committed /proc/PID/cgroup file, read as the agent reads it: the memory controller's path (v1) or the v2 path. */
function fixture(name: string): string {
  const text = readFileSync(new URL(`../fixtures/kube-cgroup/${name}`, import.meta.url), 'utf8');
  const path = memoryCgroupPath(parsePidCgroup(text));
  if (path === undefined) throw new Error(`fixture ${name} has no memory cgroup path`);
  return path;
}

describe('parseKubePodCgroup (from /proc/PID/cgroup fixtures)', () => {
  it('cgroup v2, systemd driver, Burstable pod, containerd', () => {
    expect(parseKubePodCgroup(fixture('v2-systemd-burstable-containerd'))).toEqual({
      podUid: UID, qosClass: 'Burstable', driver: 'systemd', containerId: CID, runtime: 'containerd',
    });
  });
  it('cgroup v2, systemd driver, Guaranteed pod (no QoS level), CRI-O', () => {
    expect(parseKubePodCgroup(fixture('v2-systemd-guaranteed-crio'))).toEqual({
      podUid: UID, qosClass: 'Guaranteed', driver: 'systemd', containerId: CID, runtime: 'crio',
    });
  });
  it("CRI-O's conmon scope is marked as the monitor, not the container's process", () => {
    expect(parseKubePodCgroup(fixture('v2-systemd-besteffort-crio-conmon'))).toEqual({
      podUid: UID, qosClass: 'BestEffort', driver: 'systemd', containerId: CID, runtime: 'crio', conmon: true,
    });
  });
  it('a path relative to the agent\'s own cgroup namespace ("/../..") still names the pod and container', () => {
    expect(parseKubePodCgroup(fixture('v2-cgroupns-relative'))).toEqual({
      podUid: UID, qosClass: 'BestEffort', driver: 'systemd', containerId: CID, runtime: 'containerd',
    });
  });
  it('cgroup v1, cgroupfs driver, Burstable pod: the memory controller line is used', () => {
    expect(parseKubePodCgroup(fixture('v1-cgroupfs-burstable-docker'))).toEqual({
      podUid: UID, qosClass: 'Burstable', driver: 'cgroupfs', containerId: CID,
    });
  });
  it('cgroup v1, cgroupfs driver, Guaranteed pod directly under /kubepods', () => {
    expect(parseKubePodCgroup(fixture('v1-cgroupfs-guaranteed'))).toEqual({
      podUid: UID, qosClass: 'Guaranteed', driver: 'cgroupfs', containerId: CID,
    });
  });
  it('cgroup v1, systemd driver under --cgroup-root (kind node: kubelet-kubepods-…)', () => {
    expect(parseKubePodCgroup(fixture('v1-systemd-kind-node'))).toEqual({
      podUid: UID, qosClass: 'BestEffort', driver: 'systemd', containerId: CID, runtime: 'containerd',
    });
  });
  it('a process in the pod cgroup itself (no container scope) has the pod but no container', () => {
    expect(parseKubePodCgroup(fixture('v2-pod-level-only'))).toEqual({ podUid: UID, qosClass: 'Burstable', driver: 'systemd' });
  });
  it('processes outside any pod: the container runtime service, a login session', () => {
    expect(parseKubePodCgroup(fixture('v2-not-a-pod'))).toBeUndefined();
    expect(parseKubePodCgroup(fixture('v1-not-a-pod-user'))).toBeUndefined();
  });
});

describe('parseKubePodCgroup (edge cases)', () => {
  it('does not take a directory merely named like a pod outside kubepods (cgroupfs needs the kubepods parents)', () => {
    expect(parseKubePodCgroup(`/docker/pod${UID}/${CID}`)).toBeUndefined();
    expect(parseKubePodCgroup(`/kubepods/other/pod${UID}/${CID}`)).toBeUndefined();
  });
  it('ignores a non-hex container level and a malformed UID', () => {
    expect(parseKubePodCgroup(`/kubepods/besteffort/pod${UID}/not-a-container`)).toEqual({ podUid: UID, qosClass: 'BestEffort', driver: 'cgroupfs' });
    expect(parseKubePodCgroup('/kubepods/besteffort/pod1234/abc')).toBeUndefined();
    expect(parseKubePodCgroup('/kubepods.slice/kubepods-pod1234.slice/cri-containerd-abc.scope')).toBeUndefined();
  });
  it('the root and empty paths are not pods', () => {
    expect(parseKubePodCgroup('/')).toBeUndefined();
    expect(parseKubePodCgroup('')).toBeUndefined();
  });
});
