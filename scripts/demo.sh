#!/usr/bin/env bash
# Arbor demo on built-in sample data: compose two versions of a tiny OS tree into an
# OSTree repository, deploy the first on a client sysroot, edit its /etc, upgrade to
# the second and roll back — with the real `ostree` checking the results on the way.
set -euo pipefail
cd "$(dirname "$0")/.."
arbor() { node bin/arbor.js "$@"; }
step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

work=$(mktemp -d /tmp/arbor-demo.XXXXXX)
# Deployments are sealed immutable (chattr +i) as ostree seals them; this demo's
# sysroot lives in a temp dir it deletes afterwards, so leave them mutable.
export OSTREE_SYSROOT_DEBUG=mutable-deployments
trap 'rm -rf "$work"' EXIT
tree=$work/tree repo=$work/repo sysroot=$work/sysroot
ref=demo/x86_64/stable

step "A sample OS tree (usr/, usr/etc/, a kernel) in $tree"
mkdir -p "$tree"/usr/{bin,lib/modules/6.1.0-demo,etc/demo,share/doc/demo}
printf 'NAME="Arbor Demo"\nVERSION_ID=1\nPRETTY_NAME="Arbor Demo 1"\n' > "$tree/usr/lib/os-release"
ln -s ../lib/os-release "$tree/usr/etc/os-release"
printf '#!/bin/sh\necho "hello from Arbor Demo"\n' > "$tree/usr/bin/hello"; chmod 0755 "$tree/usr/bin/hello"
printf 'setting=default\n' > "$tree/usr/etc/demo/demo.conf"
printf 'colour=blue\n' > "$tree/usr/etc/demo/theme.conf"
head -c 65536 /dev/urandom > "$tree/usr/lib/modules/6.1.0-demo/vmlinuz"
printf 'initramfs\n' > "$tree/usr/lib/modules/6.1.0-demo/initramfs.img"
printf 'Arbor demo tree.\n' > "$tree/usr/share/doc/demo/README"
find "$tree" -printf '%M %p\n' | sed "s|$tree||" | sort -k2

step "Compose server: arbor repo init --mode archive; commit version 1 to $ref"
arbor repo --repo "$repo" init --mode archive
arbor repo --repo "$repo" commit -b $ref -s "Arbor Demo 1" --add-metadata-string version=1 \
  --owner-uid 0 --owner-gid 0 "$tree"
arbor repo --repo "$repo" summary -u
arbor repo --repo "$repo" ls -R $ref

step "The real ostree verifies Arbor's repository"
ostree --repo="$repo" fsck
ostree --repo="$repo" checkout $ref "$work/checkout"
diff -r --no-dereference "$tree" "$work/checkout" && echo "ostree checkout equals the source tree"

step "Client: a sysroot, a remote, a pull, a deployment"
arbor admin --sysroot "$sysroot" init-fs
arbor admin --sysroot "$sysroot" os-init demo
arbor remote --repo "$sysroot/ostree/repo" add demo "file://$repo" --no-gpg-verify
arbor repo --repo "$sysroot/ostree/repo" pull demo $ref
arbor admin --sysroot "$sysroot" deploy --os demo --karg quiet demo:$ref
arbor admin --sysroot "$sysroot" status
cat "$sysroot"/boot/loader/entries/*.conf

step "The admin edits /etc on the deployed system"
etc1=$(echo "$sysroot"/ostree/deploy/demo/deploy/*.0/etc)
printf 'setting=local-choice\n' > "$etc1/demo/demo.conf"
printf 'added=locally\n' > "$etc1/demo/local.conf"
arbor admin --sysroot "$sysroot" config-diff --os demo

step "Compose server: version 2 (new default theme, a new tool, a removed doc)"
printf 'colour=green\n' > "$tree/usr/etc/demo/theme.conf"
printf 'setting=new-default\n' > "$tree/usr/etc/demo/demo.conf"
printf '#!/bin/sh\necho 2\n' > "$tree/usr/bin/version"; chmod 0755 "$tree/usr/bin/version"
rm -r "$tree/usr/share/doc/demo"
sed -i 's/VERSION_ID=1/VERSION_ID=2/; s/Demo 1/Demo 2/' "$tree/usr/lib/os-release"
arbor repo --repo "$repo" commit -b $ref -s "Arbor Demo 2" --add-metadata-string version=2 \
  --owner-uid 0 --owner-gid 0 "$tree"
arbor repo --repo "$repo" summary -u
arbor repo --repo "$repo" diff $ref^ $ref

step "Client: check for an update, then upgrade"
arbor admin --sysroot "$sysroot" check
arbor admin --sysroot "$sysroot" upgrade
arbor admin --sysroot "$sysroot" status
for d in "$sysroot"/ostree/deploy/demo/deploy/*.0; do
  if [ "$d/etc" != "$etc1" ]; then new=$d; fi
done
echo "/etc of the new deployment:"
for f in demo.conf theme.conf local.conf; do printf '  %-11s %s\n' "$f" "$(cat "$new/etc/demo/$f")"; done
echo "(the local edit and the local file survive; the untouched theme took the new default)"

step "ostree admin reads Arbor's sysroot"
ostree admin --sysroot="$sysroot" status

step "Roll back to version 1"
arbor admin --sysroot "$sysroot" rollback
arbor admin --sysroot "$sysroot" status

step "Done"
