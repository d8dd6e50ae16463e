#!/usr/bin/env bash
# Fetch the reference scanner auditors use, OpenSCAP with ComplianceAsCode's content, as
# Debian packages into a cache dir, for the lab hosts (which have no network) to install
# offline (esms_baseline.scanner.lab.install_scanner) and for `esms-baseline export
# tailoring` to read the rule ids from:
#   - openscap-scanner of Debian 12 (bookworm) and the libraries the lab base image lacks;
#   - ssg-debian of Debian 13 (trixie), which carries the Debian 12 content
#     (ssg-debian12-ds.xml, profiles anssi_bp28_*); its datastream is extracted next to
#     the .debs (scap/ssg-debian12-ds.xml).
# The control machine's apt sources are never changed: trixie is read through a private
# apt configuration (its own sources list, lists and cache dirs) used only to download.
# Idempotent: a second run only checks. Usage: fetch-scanner.sh [CACHE_DIR]
set -euo pipefail

CACHE=${1:-${ESMS_SCANNER_CACHE:-/var/cache/esms-baseline/scanner}}
DEBS="$CACHE/debs"
DS="$CACHE/scap/ssg-debian12-ds.xml"
# openscap-scanner and its dependencies missing from the lab base image (recipe of
# esms_baseline/lab/image.py PACKAGES), computed with `apt-get install --simulate` against
# the image's dpkg status; recomputed below when a base image is present.
SCANNER_PACKAGES=(
  openscap-scanner openscap-common libopenscap25 liblua5.3-0 libopendbx1 libpcre3
  librpmio9 librpm9 libxslt1.1 libxmlsec1 libxmlsec1-openssl libyaml-0-2
  # Not the scanner's: every real Debian install has linux-base (with its kernel), and
  # ComplianceAsCode judges many rules (TMOUT, sshd, PAM nullok...) "not applicable"
  # without it ("system_with_kernel" platform). Lab hosts are containers without it.
  linux-base
)

have_all() {
  local p
  for p in "${SCANNER_PACKAGES[@]}"; do
    compgen -G "$DEBS/${p}_*.deb" >/dev/null || return 1
  done
  compgen -G "$DEBS/ssg-debian_*.deb" >/dev/null && [ -s "$DS" ]
}

# Add what the newest bookworm lab image would lack on top of the fixed list.
image=$(ls -1dt "${ESMS_LAB_CACHE:-/var/cache/esms-baseline/lab}"/bookworm-server-*/ 2>/dev/null | head -1 || true)
if [ -n "$image" ] && [ -f "$image/var/lib/dpkg/status" ]; then
  mapfile -t extra < <(apt-get install --simulate --no-install-recommends \
      -o Dir::State::status="$image/var/lib/dpkg/status" -o Debug::NoLocking=1 \
      openscap-scanner linux-base 2>/dev/null | awk '/^Inst /{print $2}')
  for p in "${extra[@]}"; do
    [[ " ${SCANNER_PACKAGES[*]} " == *" $p "* ]] || SCANNER_PACKAGES+=("$p")
  done
fi

if have_all; then
  exit 0
fi

echo "setup: fetching OpenSCAP (bookworm) and ssg-debian (trixie) into $DEBS"
mkdir -p "$DEBS" "$(dirname "$DS")"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
if ! (cd "$work" && apt-get download -q -o APT::Sandbox::User=root "${SCANNER_PACKAGES[@]}" >/dev/null); then
  apt-get update -qq  # a fresh machine may have no package lists yet
  (cd "$work" && apt-get download -q -o APT::Sandbox::User=root "${SCANNER_PACKAGES[@]}" >/dev/null)
fi

# trixie through a private apt configuration: nothing of the machine's own apt changes.
apt_dir="$work/apt"
mkdir -p "$apt_dir/lists/partial" "$apt_dir/cache/archives/partial"
echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian trixie main" \
  > "$apt_dir/sources.list"
apt_opts=(-o Dir::Etc::sourcelist="$apt_dir/sources.list" -o Dir::Etc::sourceparts=-
          -o Dir::State::Lists="$apt_dir/lists" -o Dir::Cache="$apt_dir/cache"
          -o Dir::State::status=/dev/null -o Debug::NoLocking=1 -o APT::Sandbox::User=root)
apt-get "${apt_opts[@]}" update -qq >/dev/null
(cd "$work" && apt-get "${apt_opts[@]}" download -q ssg-debian >/dev/null)

dpkg-deb -x "$work"/ssg-debian_*.deb "$work/ssg"
src="$work/ssg/usr/share/xml/scap/ssg/content/ssg-debian12-ds.xml"
[ -s "$src" ] || { echo "setup: ssg-debian has no ssg-debian12-ds.xml" >&2; exit 1; }
# Publish atomically (several engineers may run setup at once).
for f in "$work"/*.deb; do
  cp "$f" "$DEBS/.tmp.$$" && mv -f "$DEBS/.tmp.$$" "$DEBS/$(basename "$f")"
done
cp "$src" "$DS.tmp.$$" && mv -f "$DS.tmp.$$" "$DS"
echo "setup: scanner packages in $DEBS, datastream $DS"
