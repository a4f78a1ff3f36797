#!/usr/bin/env bash
# debian-package.sh PATH PACKAGE: install a Debian package when PATH is missing (as root, or
# through sudo), then check that PATH is there. Silent when it already is.
set -euo pipefail
path=$1 package=$2

[ -e "$path" ] && exit 0
echo "$path is missing: installing the Debian package $package"
sudo=""
[ "$(id -u)" -eq 0 ] || sudo=sudo
# A fresh machine has no package lists yet; the lock timeout lets two runs install at once.
$sudo apt-get update -qq -o DPkg::Lock::Timeout=300
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq -o DPkg::Lock::Timeout=300 "$package" >/dev/null
if [ ! -e "$path" ]; then
  echo "$package is installed but $path is still missing" >&2
  exit 1
fi
