# Builds Authelia's web portal (web/: React + Vite) into internal/server/public_html, which the
# Go build embeds. The module zip carries only a placeholder index.html there (upstream's
# release pipeline builds the portal before `go build`); without this the portal renders a
# JSON blob instead of the sign-in form. Runs in a writable copy of the module
# (scripts/build-images.sh, `prebuild`); the packages come from the npm registry, pinned by
# web/pnpm-lock.yaml (--frozen-lockfile) and pnpm's exact version here.
set -euo pipefail
pnpm=pnpm@9.15.9
keep="$(mktemp -d)"
# Vite empties its output folder; the API docs that live there go back after.
cp -a internal/server/public_html/api "$keep/"
(cd web && npx -y "$pnpm" install --frozen-lockfile --ignore-scripts && npx -y "$pnpm" build)
cp -a "$keep/api" internal/server/public_html/
rm -rf "$keep"
# The real portal, not the placeholder: its script bundle and the root element React mounts on.
grep -q 'id="root"' internal/server/public_html/index.html
ls internal/server/public_html/static/js/*.js >/dev/null
