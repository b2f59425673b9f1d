#!/usr/bin/env bash
# The air-gapped Pulumi toolchain: builds the pulumi CLI, the Node.js language host and the
# resource plugins the program uses from their Go modules (through the Go module proxy, the
# only source this needs), into ~/.cache/psf/toolchain (PSF_TOOLCHAIN_DIR). Versions come
# from package-lock.json so plugins match the npm SDKs. Cached: a binary whose version stamp
# matches is not rebuilt. Exit 0 when everything `psf up` needs is there, 3 when some part
# could not be built (each reason printed), 1 on other errors.
# With internet, prefer the official installer: curl -fsSL https://get.pulumi.com | sh
set -uo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
dir="${PSF_TOOLCHAIN_DIR:-$HOME/.cache/psf/toolchain}"
bin="$dir/bin"
plugins="$dir/plugins"
mkdir -p "$bin" "$plugins" "$dir/src" "$dir/stamps"
export GOPATH="${PSF_GOPATH:-$HOME/.cache/psf/go}" GOMODCACHE="${PSF_GOPATH:-$HOME/.cache/psf/go}/mod" GOCACHE="${PSF_GOPATH:-$HOME/.cache/psf/go}/build"
# -mod=mod: wrapper modules resolve their own go.sum; no checksum database is reachable offline.
command -v go >/dev/null || { echo "toolchain: go is not installed (apt-get install golang, or https://go.dev/dl)" >&2; exit 1; }
export GOFLAGS=-mod=mod GOSUMDB=off GOTOOLCHAIN=local
# The module proxy only: a `direct` fallback would try git hosts an air-gapped machine cannot reach.
GOPROXY="$(go env GOPROXY | sed 's/,direct$//; s/|direct$//')"
export GOPROXY

npmver() { node -e "console.log(require('$root/package-lock.json').packages['node_modules/$1'].version)"; }
PULUMI=$(npmver @pulumi/pulumi)
declare -A PLUGIN=(
  [random]="github.com/pulumi/pulumi-random/provider/v4 $(npmver @pulumi/random)"
  [tls]="github.com/pulumi/pulumi-tls/provider/v5 $(npmver @pulumi/tls)"
  [command]="github.com/pulumi/pulumi-command/provider $(npmver @pulumi/command)"
  [docker]="github.com/pulumi/pulumi-docker/provider/v4 $(npmver @pulumi/docker)"
  [kubernetes]="github.com/pulumi/pulumi-kubernetes/provider/v4 $(npmver @pulumi/kubernetes)"
)
failed=()

log() { echo "toolchain: $*"; }
stamp_ok() { [ -x "$1" ] && [ "$(cat "$dir/stamps/$(basename "$1")" 2>/dev/null)" = "$2" ]; }
# `go mod download` of one module version; prints the proxy's reason when it is refused.
fetch() {
  local out
  out=$(cd "$dir/src" && go mod download -json "$1@$2" 2>&1)
  if grep -q '"Error"' <<<"$out" || ! grep -q '"Dir"' <<<"$out"; then
    sed -n 's/.*"Error": "\(.*\)",*/\1/p' <<<"$out" | head -1
    return 1
  fi
  sed -n 's/.*"Dir": "\(.*\)",*/\1/p' <<<"$out"
}

# A wrapper module around a main package: the dependency's own go.mod `replace` lines do not
# apply when it is a dependency, so the ones it needs are repeated here.
wrapper() { # name module version [replace...]
  local name=$1 module=$2 version=$3 w="$dir/src/$1"
  shift 3
  mkdir -p "$w"
  { echo "module psf.local/toolchain/$name"; echo; echo "go 1.24"; echo; echo "require $module $version"
    for r in "$@"; do echo "replace $r"; done; } >"$w/go.mod"
  echo "$w"
}

build_cli() {
  local target="$bin/pulumi" t0=$SECONDS
  if stamp_ok "$target" "v$PULUMI"; then log "pulumi v$PULUMI cached"; return; fi
  local reason
  if ! reason=$(fetch github.com/pulumi/pulumi/pkg/v3 "v$PULUMI"); then failed+=("pulumi: $reason"); return; fi
  local w
  w=$(wrapper pulumi github.com/pulumi/pulumi/pkg/v3 "v$PULUMI" \
    "github.com/atotto/clipboard => github.com/tgummerer/clipboard v0.0.0-20241001131231-d02d263e614e")
  printf '//go:build tools\n\npackage tools\n\nimport _ "github.com/pulumi/pulumi/pkg/v3/cmd/pulumi"\n' >"$w/tools.go"
  log "building pulumi v$PULUMI (a few minutes on 2 cores)"
  if (cd "$w" && go mod tidy >/dev/null 2>&1 && go build -trimpath \
      -ldflags "-s -w -X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=v$PULUMI" \
      -o "$target" github.com/pulumi/pulumi/pkg/v3/cmd/pulumi) && [ "$("$target" version)" = "v$PULUMI" ]; then
    echo "v$PULUMI" >"$dir/stamps/pulumi"
    log "pulumi v$PULUMI built in $((SECONDS - t0)) s"
  else failed+=("pulumi: go build failed (rerun: cd $w && go build ./...)"); fi
}

build_language_host() {
  local target="$bin/pulumi-language-nodejs" module=github.com/pulumi/pulumi/sdk/nodejs/cmd/pulumi-language-nodejs/v3
  if stamp_ok "$target" "v$PULUMI"; then log "pulumi-language-nodejs cached"; return; fi
  # Untagged module: take it at the commit the CLI's release tag points at, as a pseudo-version.
  local info commit time
  info=$(curl -fsS "${GOPROXY%%,*}/github.com/pulumi/pulumi/pkg/v3/@v/v$PULUMI.info" 2>/dev/null || true)
  commit=$(sed -n 's/.*"Hash":"\([0-9a-f]\{12\}\).*/\1/p' <<<"$info")
  time=$(sed -n 's/.*"Time":"\([0-9TZ:-]*\)".*/\1/p' <<<"$info" | tr -d 'TZ:-')
  if [ -z "$commit" ]; then failed+=("pulumi-language-nodejs: the release commit of v$PULUMI is unknown"); return; fi
  local pseudo="v3.0.0-$time-$commit" reason
  if ! reason=$(fetch "$module" "$pseudo"); then failed+=("pulumi-language-nodejs ($module@$pseudo): $reason"); return; fi
  local w
  w=$(wrapper language-nodejs "$module" "$pseudo")
  printf '//go:build tools\n\npackage tools\n\nimport _ "%s"\n' "$module" >"$w/tools.go"
  if (cd "$w" && go mod tidy >/dev/null 2>&1 && go build -trimpath -ldflags "-s -w -X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=v$PULUMI" -o "$target" "$module"); then
    echo "v$PULUMI" >"$dir/stamps/pulumi-language-nodejs"
    log "pulumi-language-nodejs built"
  else failed+=("pulumi-language-nodejs: go build failed"); fi
}

build_plugin() { # name
  local name=$1 module version
  read -r module version <<<"${PLUGIN[$name]}"
  local target="$plugins/resource-$name-v$version/pulumi-resource-$name"
  if stamp_ok "$target" "v$version"; then log "$name v$version cached"; return; fi
  local src
  if ! src=$(fetch "$module" "v$version"); then failed+=("$name plugin ($module@v$version): $src"); return; fi
  # Bridged providers embed a generated schema-embed.json that the module zip lacks: build from
  # a writable copy with it made from the committed schema.json.
  local copy="$dir/src/plugin-$name"
  rm -rf "$copy" && cp -r "$src" "$copy" && chmod -R u+w "$copy"
  local cmd="$copy/cmd/pulumi-resource-$name"
  [ -f "$cmd/schema.json" ] && [ ! -f "$cmd/schema-embed.json" ] && node -e "process.stdout.write(JSON.stringify(require('$cmd/schema.json')))" >"$cmd/schema-embed.json"
  mkdir -p "$(dirname "$target")"
  if (cd "$copy" && go build -trimpath -ldflags "-s -w -X $module/pkg/version.Version=v$version" -o "$target" "./cmd/pulumi-resource-$name"); then
    echo "v$version" >"$dir/stamps/pulumi-resource-$name"
    log "$name v$version built"
  else failed+=("$name plugin: go build failed in $copy"); fi
}

build_cli
build_language_host
for p in random tls command docker kubernetes; do build_plugin "$p"; done

if [ ${#failed[@]} -eq 0 ]; then
  log "complete in $dir (PATH: $bin, PULUMI_HOME plugins: $plugins)"
  exit 0
fi
log "incomplete; these parts could not be built:"
for f in "${failed[@]}"; do echo "  - $f"; done
exit 3
