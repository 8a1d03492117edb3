#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# build-deb.sh -- `make deb`: build the hostpulse Debian packages (the agent,
# hostpulse, and hostpulse-web) and leave them in dist/ (PKG_VERSION_ARCH.deb
# with the .buildinfo and .changes); lintian checks both.
#
# dpkg-buildpackage builds in the source tree and writes its results to the
# parent directory, so this script runs it in a temporary copy of the tree
# (tracked files plus untracked, not ignored ones: uncommitted work is
# included) and copies the results to dist/. The work tree, its build/
# directory and its parent stay untouched. The package build runs the unit
# tests (DEB_BUILD_OPTIONS=nocheck skips them). lintian then checks the
# result and fails the build on any error or warning (LINTIAN=0 skips it).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

die() { echo "build-deb: $*" >&2; exit 1; }

for tool in dpkg-buildpackage dpkg-parsechangelog dh; do
    command -v "$tool" >/dev/null || die "$tool is missing (apt-get install dpkg-dev debhelper; or make deps)"
done

version=$(dpkg-parsechangelog -S Version)
agent_version=$(sed -n 's/^#define HP_VERSION "\(.*\)"/\1/p' lib/version.h)
[ "$version" = "$agent_version" ] ||
    die "debian/changelog says $version but lib/version.h HP_VERSION says $agent_version; add a changelog entry (dch -v $agent_version)"

tmp=$(mktemp -d /tmp/hostpulse-deb.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
src="$tmp/hostpulse-$version"
mkdir "$src"

# Copy the source: git's view of it when this is a checkout (files deleted
# but not yet committed left out; symlinks kept, even dangling fixture ones),
# else all but
# build products.
if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
    git ls-files -z --cached --others --exclude-standard |
        while IFS= read -r -d '' f; do { [ -e "$f" ] || [ -L "$f" ]; } && printf '%s\0' "$f"; done |
        tar -c --null -T - | tar -x -C "$src"
else
    tar -c --exclude=./build --exclude=./dist --exclude=./.git --exclude=./hostpulse . |
        tar -x -C "$src"
fi

export DEB_BUILD_OPTIONS="${DEB_BUILD_OPTIONS:-parallel=2}"
log="$tmp/build.log"
echo "build-deb: building hostpulse $version in $src (log: dist/build.log)"
mkdir -p dist
if ! (cd "$src" && dpkg-buildpackage -us -uc -b) >"$log" 2>&1; then
    cp "$log" dist/build.log
    tail -n 40 "$log" >&2
    die "dpkg-buildpackage failed; full log in dist/build.log"
fi
cp "$log" dist/build.log

rm -f dist/hostpulse_* dist/hostpulse-dbgsym_* dist/hostpulse-web_* dist/hostpulse-web-dbgsym_*
shopt -s nullglob
cp "$tmp"/hostpulse*_"$version"_*.{deb,ddeb,buildinfo,changes} dist/
deb=$(ls "$root"/dist/hostpulse_"$version"_*.deb)
webdeb=$(ls "$root"/dist/hostpulse-web_"$version"_*.deb)

if [ "${LINTIAN:-1}" != 0 ]; then
    command -v lintian >/dev/null || die "lintian is missing (apt-get install lintian; or LINTIAN=0)"
    echo "build-deb: lintian"
    for d in "$deb" "$webdeb"; do
        lintian --fail-on error,warning --info "$d" || die "lintian found problems in $d"
    done
fi
echo "build-deb: $deb $webdeb"
