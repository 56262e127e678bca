#!/usr/bin/env bash
# Vendor the web UI's one front-end dependency, htmx (2.x: the UI is written against its 2.x API), from the
# npm registry into the package, so the UI works offline (no CDN). Re-run to upgrade: HTMX_VERSION=2.0.x scripts/vendor_ui.sh
# Writes src/brewslm/ui/static/htmx.min.js and records the version and checksum in
# src/brewslm/ui/static/VENDORED.txt (commit both).
set -euo pipefail

HTMX_VERSION="${HTMX_VERSION:-2.0.11}"
root="$(cd "$(dirname "$0")/.." && pwd)"
static="$root/src/brewslm/ui/static"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

(cd "$work" && npm pack --silent "htmx.org@${HTMX_VERSION}" >/dev/null)
tar -xzf "$work"/htmx.org-*.tgz -C "$work"
cp "$work/package/dist/htmx.min.js" "$static/htmx.min.js"
sum="$(sha256sum "$static/htmx.min.js" | cut -d' ' -f1)"
cat > "$static/VENDORED.txt" <<NOTE
htmx.min.js: npm package htmx.org@${HTMX_VERSION} (dist/htmx.min.js, BSD Zero Clause License)
sha256 ${sum}
written by scripts/vendor_ui.sh
NOTE
echo "htmx.org@${HTMX_VERSION} -> $static/htmx.min.js ($sum)"
