#!/usr/bin/env bash
# Installs what headroom's tests and stack need on Debian/Ubuntu: Node packages from package-lock.json and
# the Prometheus tools (promtool, amtool, prometheus, alertmanager) plus the peers the benchmark compares
# against. Safe to run again; apt is only called for what is missing. Needs root (or sudo) for apt.
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(prometheus prometheus-alertmanager prometheus-process-exporter prometheus-node-exporter docker-compose systemd python3)
command -v kubectl >/dev/null || APT_PACKAGES+=(kubernetes-client)   # kubernetes: `kubectl kustomize` renders deploy/kubernetes (any kubectl will do; Debian's conflicts with another package's)
APT_PACKAGES+=(chromium tmux openssl)   # people: status page browser tests, `headroom status` terminal tests, test certificates
APT_PACKAGES+=(iproute2 util-linux curl openssl)   # fleet: network namespaces, nsenter/unshare, TLS test certificates
APT_PACKAGES+=(qemu-system-x86 qemu-utils debootstrap)   # test:machine: the Debian 12 guest (scripts/machine/)
missing=()
for pkg in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing+=("$pkg")
done
if ((${#missing[@]} > 0)); then
  SUDO=""
  if [[ $(id -u) -ne 0 ]]; then SUDO="sudo"; fi
  echo "installing Debian packages: ${missing[*]}"
  $SUDO apt-get update -qq
  # The packages' post-install scripts try to start services; there is no init system to start them here and
  # headroom starts its own instances, so a failure to start them is not an install failure.
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

if [[ ! -d node_modules ]] || [[ package-lock.json -nt node_modules/.package-lock.json ]]; then
  npm ci --no-audit --no-fund
else
  npm run build --silent
fi
