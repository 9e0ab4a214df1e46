#!/usr/bin/env bash
# Arbor demo on built-in sample data: compose two versions of a tiny OS tree into
# an OSTree repository, inspect them, and let the real `ostree` verify the result.
set -euo pipefail
cd "$(dirname "$0")/.."
arbor() { node bin/arbor.js "$@"; }
step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

work=$(mktemp -d /tmp/arbor-demo.XXXXXX)
trap 'rm -rf "$work"' EXIT
tree=$work/tree repo=$work/repo

step "A sample OS tree (usr/, usr/etc/, a kernel) in $tree"
mkdir -p "$tree"/usr/{bin,lib/modules/6.1.0-demo,etc/demo,share/doc/demo}
printf 'NAME="Arbor Demo"\nVERSION_ID=1\nPRETTY_NAME="Arbor Demo 1"\n' > "$tree/usr/lib/os-release"
ln -s ../lib/os-release "$tree/usr/etc/os-release"
printf '#!/bin/sh\necho "hello from Arbor Demo"\n' > "$tree/usr/bin/hello"; chmod 0755 "$tree/usr/bin/hello"
printf 'setting=default\n' > "$tree/usr/etc/demo/demo.conf"
head -c 65536 /dev/urandom > "$tree/usr/lib/modules/6.1.0-demo/vmlinuz"
printf 'initramfs\n' > "$tree/usr/lib/modules/6.1.0-demo/initramfs.img"
printf 'Arbor demo tree.\n' > "$tree/usr/share/doc/demo/README"
find "$tree" -printf '%M %p\n' | sed "s|$tree||" | sort -k2

step "arbor repo init --mode archive"
arbor repo --repo "$repo" init --mode archive

step "Commit version 1 to demo/x86_64/stable"
c1=$(arbor repo --repo "$repo" commit -b demo/x86_64/stable -s "Arbor Demo 1" \
  --add-metadata-string version=1 --owner-uid 0 --owner-gid 0 "$tree")
echo "$c1"

step "Version 2: a changed config default, a new tool, a removed doc"
printf 'setting=new-default\n' > "$tree/usr/etc/demo/demo.conf"
printf '#!/bin/sh\necho 2\n' > "$tree/usr/bin/version"; chmod 0755 "$tree/usr/bin/version"
rm -r "$tree/usr/share/doc/demo"
sed -i 's/VERSION_ID=1/VERSION_ID=2/; s/Demo 1/Demo 2/' "$tree/usr/lib/os-release"
c2=$(arbor repo --repo "$repo" commit -b demo/x86_64/stable -s "Arbor Demo 2" \
  --add-metadata-string version=2 --owner-uid 0 --owner-gid 0 "$tree")
echo "$c2"

step "arbor repo log demo/x86_64/stable"
arbor repo --repo "$repo" log demo/x86_64/stable

step "arbor repo ls -R demo/x86_64/stable"
arbor repo --repo "$repo" ls -R demo/x86_64/stable

step "arbor repo diff demo/x86_64/stable^ demo/x86_64/stable"
arbor repo --repo "$repo" diff demo/x86_64/stable^ demo/x86_64/stable

step "arbor repo summary -u, then fsck"
arbor repo --repo "$repo" summary -u
arbor repo --repo "$repo" summary
arbor repo --repo "$repo" fsck

step "The real ostree reads Arbor's repository"
ostree --repo="$repo" fsck
ostree --repo="$repo" log demo/x86_64/stable | head -8
ostree --repo="$repo" checkout demo/x86_64/stable "$work/checkout"
diff -r --no-dereference "$tree" "$work/checkout" && echo "ostree checkout of $c2 equals the source tree"

step "Done"
