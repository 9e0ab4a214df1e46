#!/usr/bin/env bash
# Idempotent setup for a fresh Debian 12 machine: the Debian tools the tests and the
# demo use as oracles, then the npm packages. Later issues add to DEBIAN_PACKAGES.
set -euo pipefail
cd "$(dirname "$0")/.."

DEBIAN_PACKAGES=(ostree attr xxd python3-gi gir1.2-glib-2.0 gir1.2-ostree-1.0 ca-certificates
  rpm createrepo-c dnf libsolv-tools cpio zstd xz-utils bzip2 busybox-static nginx-light openssl e2fsprogs time)

missing=()
for p in "${DEBIAN_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "bootstrap: missing Debian packages: ${missing[*]} (run as root to install them)" >&2
    exit 1
  fi
  echo "bootstrap: installing ${missing[*]}" >&2
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
fi

# npm packages: reinstall only when the lock file changed since the last install.
stamp=node_modules/.arbor-lock-stamp
want=$(sha256sum package-lock.json | cut -c1-64)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  npm ci --no-audit --no-fund >&2
  echo "$want" > "$stamp"
fi
