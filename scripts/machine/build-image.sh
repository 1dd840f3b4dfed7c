#!/usr/bin/env bash
# Builds the headroom test guest: Debian 12 (bookworm) from Debian's packages (debootstrap), an ext4 image made
# with `mkfs.ext4 -d` (no loop device, no mount), the kernel and initrd next to it, and an ssh key made for this
# image. The result is cached outside the checkout under a key of the package list and this script:
#   ${HEADROOM_MACHINE_CACHE:-/var/cache/headroom-machine}/<key>/{base.img,vmlinuz,initrd.img,id_ed25519,READY}
# Prints that directory on the last line of stdout. Needs root (debootstrap). Safe to run again: a finished
# image is reused; a half-built one is removed and built again.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
cache_root="${HEADROOM_MACHINE_CACHE:-/var/cache/headroom-machine}"
mirror="${HEADROOM_MACHINE_MIRROR:-http://deb.debian.org/debian}"
key="$(cat "$here/packages.txt" "$here/build-image.sh" | sha256sum | cut -c1-16)"
out="$cache_root/$key"
if [[ -f "$out/READY" ]]; then
  echo "$out"
  exit 0
fi
if [[ $(id -u) -ne 0 ]]; then
  echo "build-image.sh: debootstrap needs root; run as root (or with sudo)" >&2
  exit 1
fi
mkdir -p "$cache_root"
# One builder at a time per key; a crashed build leaves a directory without READY, which is removed here.
exec 9>"$cache_root/$key.lock"
flock 9
if [[ -f "$out/READY" ]]; then echo "$out"; exit 0; fi
rm -rf "$out"
mkdir -p "$out"
work="$out/build"
root="$work/rootfs"
mkdir -p "$root"
started=$(date +%s)

packages="$(grep -v '^\s*#' "$here/packages.txt" | grep -v '^\s*$' | paste -sd, -)"
echo "debootstrap bookworm with: $packages" >&2
debootstrap --variant=minbase --include="$packages" bookworm "$root" "$mirror" >"$work/debootstrap.log" 2>&1 || {
  tail -30 "$work/debootstrap.log" >&2
  exit 1
}

# Configuration, written as files (no chroot services are started).
echo headroom-guest >"$root/etc/hostname"
printf '127.0.0.1 localhost\n127.0.1.1 headroom-guest\n' >"$root/etc/hosts"
cat >"$root/etc/fstab" <<'FSTAB'
/dev/vda  /  ext4  rw,relatime  0 1
/dev/vdb  none  swap  sw,nofail  0 0
headroom  /opt/headroom  9p  trans=virtio,version=9p2000.L,cache=loose,msize=262144,ro,nofail  0 0
hostnode  /opt/hostnode  9p  trans=virtio,version=9p2000.L,cache=loose,msize=262144,ro,nofail  0 0
FSTAB
mkdir -p "$root/opt/headroom" "$root/opt/hostnode"
printf '9p\n9pnet\n9pnet_virtio\n' >"$root/etc/modules-load.d/9p.conf"
mkdir -p "$root/etc/systemd/network"
cat >"$root/etc/systemd/network/10-user.network" <<'NET'
[Match]
Name=en* eth*
[Network]
DHCP=ipv4
NET
ln -sf /lib/systemd/system/systemd-networkd.service "$root/etc/systemd/system/multi-user.target.wants/systemd-networkd.service"
# Nothing waits for a network that restrict=on keeps offline anyway.
ln -sf /dev/null "$root/etc/systemd/system/systemd-networkd-wait-online.service"
# The benchmark's peers are installed but off; each arm starts the one it measures.
systemctl --root="$root" disable earlyoom.service nohang.service nohang-desktop.service systemd-oomd.service systemd-oomd.socket >>"$work/debootstrap.log" 2>&1
systemctl --root="$root" mask systemd-oomd.service systemd-oomd.socket >>"$work/debootstrap.log" 2>&1
# Node from the host (same Debian release, same glibc) is shared at /opt/hostnode; /usr/bin/node is where the
# shipped unit (deploy/systemd/headroom-agent.service) expects it.
ln -sf /opt/hostnode/node "$root/usr/bin/node"
# Root logs in with the image's key only.
ssh-keygen -q -t ed25519 -N '' -C headroom-machine -f "$out/id_ed25519"
mkdir -p "$root/root/.ssh"
chmod 700 "$root/root/.ssh"
cp "$out/id_ed25519.pub" "$root/root/.ssh/authorized_keys"
chmod 600 "$root/root/.ssh/authorized_keys"
cat >"$root/etc/ssh/sshd_config.d/headroom.conf" <<'SSHD'
PermitRootLogin prohibit-password
PasswordAuthentication no
UseDNS no
MaxSessions 50
MaxStartups 50:30:100
SSHD
# Kernel and initrd, booted with -kernel / -initrd.
cp "$(ls "$root"/boot/vmlinuz-* | sort | tail -1)" "$out/vmlinuz"
cp "$(ls "$root"/boot/initrd.img-* | sort | tail -1)" "$out/initrd.img"
chmod 644 "$out/vmlinuz" "$out/initrd.img"
rm -rf "$root"/var/cache/apt/archives/*.deb
mkfs.ext4 -q -F -L headroom-root -d "$root" "$out/base.img" 3G
rm -rf "$work"
echo "built in $(( $(date +%s) - started )) s" >"$out/READY"
cat "$out/READY" >&2
echo "$out"
