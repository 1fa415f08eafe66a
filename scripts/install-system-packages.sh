#!/usr/bin/env bash
# Installs the Debian packages fusiondesk's plugins and tests use, when missing and possible.
# Without root or apt the script says what is missing and carries on: the tests that need a
# package skip with a reason naming it.
set -euo pipefail

# fonts-*: typefaces for `fusiondesk synth screenshot` (it falls back to Pillow's own font).
packages=(espeak-ng redis-server chromium fonts-dejavu-core fonts-liberation fonts-open-sans)
missing=()
for package in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" \
    || missing+=("$package")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if ! command -v apt-get >/dev/null; then
  echo "note: no apt-get; install these yourself for the full test suite: ${missing[*]}" >&2
  exit 0
fi
sudo=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null && sudo -n true 2>/dev/null; then sudo="sudo -n"; else
    echo "note: not root; install these for the full test suite: ${missing[*]}" >&2
    exit 0
  fi
fi
echo "installing Debian packages: ${missing[*]}..."
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
