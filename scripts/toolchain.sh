#!/usr/bin/env bash
# The air-gapped Pulumi toolchain (`npm run toolchain`). With internet, prefer the official
# installer (https://www.pulumi.com/docs/install/); this path needs only the Go module proxy.
#
# Builds, from Go modules, into ~/.cache/psf/toolchain (PSF_TOOLCHAIN_DIR):
#   bin/pulumi                         the CLI, at the version of @pulumi/pulumi in package-lock.json
#   bin/pulumi-language-nodejs         the Node.js language host
#   bin/pulumi-resource-pulumi-nodejs  the dynamic-provider launcher the CLI release ships
#   home/plugins/resource-<name>-v<version>/pulumi-resource-<name>
#                                      resource plugins, in the engine's plugin-cache layout;
#                                      cli/engine.ts points PULUMI_HOME at home/ (see toolchainEnv)
# Every part is skipped when its stamp says the wanted version is already there.
#
# Plugins, for the versions of the npm packages, first found of:
#   1. an official tarball in PSF_PLUGIN_TARBALLS (e.g. pulumi-resource-docker-v4.11.2-linux-amd64.tar.gz,
#      fetched on a connected machine), installed with `pulumi plugin install --file`;
#   2. the provider's own module (github.com/pulumi/pulumi-<name>/provider) at the release commit;
#   3. scripts/toolchain/<name>: the provider rebuilt from parts the proxy does serve: the same
#      Terraform provider through the Pulumi Terraform bridge (random, tls, docker), or a
#      pulumi-go-provider implementation of command:local:Command (command). The proxy refuses
#      the providers' own modules of random, tls, docker and command, so this is their path;
#      kubernetes is built by route 2 (its release commit, PLUGIN_RELEASE below).
#      test/cli/toolchain.test.ts checks every plugin's schema against its npm SDK.
#
# Usage:
#   toolchain.sh                 what `psf up` needs; kubernetes only when it is already built
#                                (its cold build takes ~35 min on 2 cores: it is never started
#                                unasked)
#   toolchain.sh --kubernetes    the same, and the kubernetes plugin built if it is not (then
#                                required: exit 3 when it cannot be built)
#   toolchain.sh --cached kubernetes
#                                builds nothing: exit 0 when the kubernetes plugin is installed at
#                                the locked version, 1 when not (.ci/run decides from this and the
#                                time left whether to build it)
#
# Exit: 0 when everything `psf up` needs is installed (kubernetes is optional unless asked for:
# only the k8s target needs it), 3 when a required part is missing (each reason printed), 1 on
# other errors.
# The build steps run through timed(), which shellcheck cannot follow.
# shellcheck disable=SC2317
set -euo pipefail
want_kubernetes="" cached_query=""
while [ $# -gt 0 ]; do
  case "$1" in
    --kubernetes) want_kubernetes=1 ;;
    --cached) cached_query=${2:?--cached needs a plugin name}; shift ;;
    *) echo "toolchain: unknown argument $1 (usage: toolchain.sh [--kubernetes | --cached kubernetes])" >&2; exit 1 ;;
  esac
  shift
done
root="$(cd "$(dirname "$0")/.." && pwd)"
dir="${PSF_TOOLCHAIN_DIR:-$HOME/.cache/psf/toolchain}"
bin="$dir/bin"
home="$dir/home"
src="$dir/src"
stamps="$dir/stamps"
mkdir -p "$bin" "$home/plugins" "$src" "$stamps"

if ! command -v go >/dev/null; then
  echo "toolchain: go is not installed (apt-get install golang-go)" >&2
  exit 1
fi
gocache="${PSF_GOPATH:-$HOME/.cache/psf/go}"
export GOPATH="$gocache" GOMODCACHE="$gocache/mod" GOCACHE="$gocache/build"
# -mod=mod lets the wrapper modules below write their own go.sum. The checksum database is not
# reachable through the proxy for these modules (404 on its lookups), so it is not consulted.
export GOFLAGS=-mod=mod GOSUMDB=off GOTOOLCHAIN=local
# Only the proxy: a `direct` fallback would try git hosts that an air-gapped machine cannot reach.
GOPROXY="$(go env GOPROXY | sed -E 's/[,|]direct$//')"
export GOPROXY

lockver() { node -p "require('$root/package-lock.json').packages['node_modules/$1'].version"; }
PULUMI="v$(lockver @pulumi/pulumi)"
# The language host left the sdk module after v3.68.0 for a module of its own that is untagged;
# this is the last release that ships it inside github.com/pulumi/pulumi/sdk/v3.
LANGHOST_FALLBACK=v3.68.0
# Each plugin's own provider module, and the SDK module whose release tag names its release commit.
declare -A PLUGIN_MODULE=(
  [random]=github.com/pulumi/pulumi-random/provider/v4
  [tls]=github.com/pulumi/pulumi-tls/provider/v5
  [command]=github.com/pulumi/pulumi-command/provider
  [docker]=github.com/pulumi/pulumi-docker/provider/v4
  [kubernetes]=github.com/pulumi/pulumi-kubernetes/provider/v4
)
declare -A PLUGIN_SDK=(
  [random]=github.com/pulumi/pulumi-random/sdk/v4
  [tls]=github.com/pulumi/pulumi-tls/sdk/v5
  [command]=github.com/pulumi/pulumi-command/sdk
  [docker]=github.com/pulumi/pulumi-docker/sdk/v4
  [kubernetes]=github.com/pulumi/pulumi-kubernetes/sdk/v4
)
# Release commits whose module the proxy serves where the SDK's release tag names another commit
# (pulumi-kubernetes tags sdk/v4.25.0 on a later commit than its release v4.25.0, f47bc2d6f199).
declare -A PLUGIN_RELEASE=(
  [kubernetes v4.25.0]=v4.0.0-20260115033456-f47bc2d6f199
)
REQUIRED_PLUGINS=(random tls command docker)
OPTIONAL_PLUGINS=(kubernetes)

missing=() optional_missing=() timings=()
log() { echo "toolchain: $*"; }
stamp_ok() { [ -x "$1" ] && [ "$(cat "$stamps/$2" 2>/dev/null)" = "$3" ]; }
json() { node -e "let s='';process.stdin.on('data',d=>s+=d).on('end',()=>{const j=s.trim()?JSON.parse(s):{};console.log(($1)??'')})"; }

# Prints a module version's directory in the module cache; on refusal prints the proxy's reason
# and fails. `go mod download` works outside any module and fills the shared cache.
fetch() { # module version
  local out d
  out=$(cd "$src" && { go mod download -json "$1@$2" 2>/dev/null || true; })
  [ -n "$out" ] || out='{}'
  d=$(json 'j.Dir' <<<"$out")
  if [ -n "$d" ]; then echo "$d"; return 0; fi
  json '(j.Error||"no answer").split("\n").pop().replace(/^\s*server response: /,"")' <<<"$out"
  return 1
}

# The commit and time a module release tag points at, as "hash time" (for a pseudo-version).
release_commit() { # module version
  (cd "$src" && go list -m -json "$1@$2" 2>/dev/null) |
    json 'j.Origin&&j.Origin.Hash ? j.Origin.Hash.slice(0,12)+" "+j.Time.replace(/[-:TZ]/g,"") : ""'
}

# A wrapper module that requires one module version. A dependency's own `replace` lines do not
# apply, so its versioned ones are repeated; local-path ones are handled by the caller.
wrapper() { # dir module version module-dir
  local w=$1 mod=$2 ver=$3 mdir=$4
  rm -rf "$w" && mkdir -p "$w"
  (cd "$w" && go mod init psf.local/toolchain >/dev/null 2>&1 && go mod edit -require="$mod@$ver")
  # shellcheck disable=SC2016 # a JavaScript template string
  go mod edit -json "$mdir/go.mod" |
    json 'j.Replace?.filter(r=>r.New.Version).map(r=>`-replace=${r.Old.Path}${r.Old.Version?"@"+r.Old.Version:""}=${r.New.Path}@${r.New.Version}`).join("\n")' |
    while read -r r; do [ -n "$r" ] && (cd "$w" && go mod edit "$r"); done
}

gobuild() { # wrapper-dir output package version-ldflag
  (cd "$1" && go mod tidy >/dev/null && nice go build -trimpath -ldflags "-s -w -X $4" -o "$2" "$3")
}

# `go version -m`: the version of the module a binary's main package came from.
built_from() { go version -m "$1" | awk -v m="$2" '($1=="mod"||$1=="dep") && $2==m {print $3; exit}'; }

timed() { # label command...
  local t0=$SECONDS label=$1
  shift
  if "$@"; then timings+=("$label: $((SECONDS - t0)) s"); return 0; fi
  return 1
}

build_cli() {
  local target="$bin/pulumi"
  if stamp_ok "$target" pulumi "$PULUMI" && [ "$("$target" version)" = "$PULUMI" ]; then log "pulumi $PULUMI cached"; return; fi
  local mdir
  if ! mdir=$(fetch github.com/pulumi/pulumi/pkg/v3 "$PULUMI"); then missing+=("pulumi $PULUMI: the proxy refuses github.com/pulumi/pulumi/pkg/v3@$PULUMI: $mdir"); return; fi
  log "building pulumi $PULUMI"
  wrapper "$src/pulumi" github.com/pulumi/pulumi/pkg/v3 "$PULUMI" "$mdir"
  # pkg/go.mod replaces the sdk by its sibling folder; the same release stands in for it.
  (cd "$src/pulumi" && go mod edit -replace=github.com/pulumi/pulumi/sdk/v3=github.com/pulumi/pulumi/sdk/v3@"$PULUMI")
  printf 'package tools\n\nimport _ "github.com/pulumi/pulumi/pkg/v3/cmd/pulumi"\n' >"$src/pulumi/tools.go"
  if gobuild "$src/pulumi" "$target" github.com/pulumi/pulumi/pkg/v3/cmd/pulumi \
      "github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=$PULUMI" &&
      [ "$("$target" version)" = "$PULUMI" ]; then
    echo "$PULUMI" >"$stamps/pulumi"
  else missing+=("pulumi $PULUMI: go build failed (rerun: cd $src/pulumi && go build github.com/pulumi/pulumi/pkg/v3/cmd/pulumi)"); return 1; fi
}

build_language_host() {
  local target="$bin/pulumi-language-nodejs" mod=github.com/pulumi/pulumi/sdk/nodejs/cmd/pulumi-language-nodejs/v3
  local cached
  # Our patches to the host (scripts/toolchain/language-nodejs/patches, each saying why) are
  # part of its stamp: a changed patch rebuilds it.
  local patches="$root/scripts/toolchain/language-nodejs/patches" patched
  patched=$(cat "$patches"/*.patch 2>/dev/null | sha256sum | cut -c1-12)
  cached=$(cat "$stamps/pulumi-language-nodejs" 2>/dev/null || true)
  if [ -x "$target" ] && [ -n "$cached" ] && [ "$(built_from "$target" "${cached% *}")" = "${cached#* }" ] &&
    [ "$(cat "$stamps/pulumi-language-nodejs.patches" 2>/dev/null)" = "$patched" ]; then
    log "pulumi-language-nodejs cached (${cached#* })"; return
  fi
  # First choice: the host's own module at the CLI's release commit, as a pseudo-version.
  local commit pseudo="" mdir pkg ver
  commit=$(release_commit github.com/pulumi/pulumi/pkg/v3 "$PULUMI")
  [ -n "$commit" ] && pseudo="v3.0.0-${commit#* }-${commit% *}"
  if [ -n "$pseudo" ] && mdir=$(fetch "$mod" "$pseudo"); then
    pkg=$mod ver=$pseudo
  else
    log "the proxy refuses $mod@${pseudo:-?} (${mdir:-release commit unknown}); building the host of sdk $LANGHOST_FALLBACK, the last release that ships it"
    mod=github.com/pulumi/pulumi/sdk/v3 pkg=github.com/pulumi/pulumi/sdk/v3/nodejs/cmd/pulumi-language-nodejs ver=$LANGHOST_FALLBACK
    if ! mdir=$(fetch "$mod" "$ver"); then missing+=("pulumi-language-nodejs: the proxy refuses $mod@$ver: $mdir"); return; fi
  fi
  log "building pulumi-language-nodejs from $mod@$ver"
  wrapper "$src/language-nodejs" "$mod" "$ver" "$mdir"
  local main=$pkg p
  if [ "$pkg" = "$mod" ]; then
    printf 'package tools\n\nimport _ "%s"\n' "$pkg" >"$src/language-nodejs/tools.go"
  else
    # The v3.68 host's own files, patched, as the wrapper's main package; the rest of its module as is.
    find "$mdir/${pkg#"$mod"/}" -maxdepth 1 -name '*.go' ! -name '*_test.go' -exec cp {} "$src/language-nodejs/" \;
    chmod u+w "$src/language-nodejs"/*.go
    for p in "$patches"/*.patch; do
      [ -f "$p" ] || continue
      if ! (cd "$src/language-nodejs" && git apply "$p"); then missing+=("pulumi-language-nodejs: $p does not apply to $mod@$ver"); return 1; fi
    done
    main=.
  fi
  if gobuild "$src/language-nodejs" "$target" "$main" "github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=$ver" &&
      [ "$(built_from "$target" "$mod")" = "$ver" ]; then
    echo "$mod $ver" >"$stamps/pulumi-language-nodejs"
    echo "$patched" >"$stamps/pulumi-language-nodejs.patches"
  else missing+=("pulumi-language-nodejs: go build of $pkg@$ver failed (rerun: cd $src/language-nodejs && go build $pkg)"); return 1; fi
}

# The launcher for dynamic providers (pulumi.dynamic.Resource): a script in the sdk module.
install_dynamic_provider() {
  local mdir
  if ! mdir=$(fetch github.com/pulumi/pulumi/sdk/v3 "$PULUMI"); then missing+=("pulumi-resource-pulumi-nodejs: $mdir"); return; fi
  install -m 0755 "$mdir/nodejs/dist/pulumi-resource-pulumi-nodejs" "$bin/pulumi-resource-pulumi-nodejs"
}

# The engine's plugin cache: a finished plugin is a folder without a sibling .partial file.
plugin_dir() { echo "$home/plugins/resource-$1-v$2"; }

# The recipe stamp of a plugin rebuilt from scripts/toolchain/<name> (empty without a recipe).
recipe_stamp() { # name version
  local recipe="$root/scripts/toolchain/$1"
  [ -d "$recipe" ] || return 0
  echo "$2 rebuilt $(cat "$recipe"/go.mod "$recipe"/*.go "$recipe"/*.txt "$recipe"/_shim/*.go "$recipe"/patches/*.patch 2>/dev/null | sha256sum | cut -c1-12)"
}

# Whether the plugin is installed at the locked version: a finished folder and a matching stamp.
plugin_cached() { # name
  local name=$1 ver pdir have rebuilt
  ver="v$(lockver "@pulumi/$name")"
  pdir=$(plugin_dir "$name" "${ver#v}")
  rebuilt=$(recipe_stamp "$name" "$ver")
  have=$(cat "$stamps/pulumi-resource-$name" 2>/dev/null || true)
  [ -x "$pdir/pulumi-resource-$name" ] && [ ! -e "$pdir.partial" ] &&
    { [ "$have" = "$ver" ] || { [ -n "$rebuilt" ] && [ "$have" = "$rebuilt" ]; }; }
}

build_plugin() { # name [build-if-missing: 1 (default) or ""]
  local name=$1 ver recipe="$root/scripts/toolchain/$1" build=${2-1}
  ver="v$(lockver "@pulumi/$name")"
  local pdir target rebuilt
  pdir=$(plugin_dir "$name" "${ver#v}")
  target="$pdir/pulumi-resource-$name"
  rebuilt=$(recipe_stamp "$name" "$ver")
  if plugin_cached "$name"; then
    log "$name $(cat "$stamps/pulumi-resource-$name") cached"; return
  fi
  if [ -z "$build" ]; then
    optional_missing+=("$name $ver: not built (cold ~35 min on 2 cores; bash scripts/toolchain.sh --kubernetes)")
    return
  fi
  why=()
  # While a .partial file sits beside it, the engine does not use the folder.
  mkdir -p "$pdir" && touch "$pdir.partial"
  if install_tarball "$name" "$ver" || build_official "$name" "$ver" "$target" ||
      { [ -n "$rebuilt" ] && rebuild "$name" "$ver" "$recipe" "$target" "$rebuilt"; }; then
    rm -f "$pdir.partial"
    return
  fi
  rm -rf "$pdir" "$pdir.partial"
  local reason
  reason="$name $ver: $(IFS=';'; echo "${why[*]}")"
  if [[ " ${OPTIONAL_PLUGINS[*]} " == *" $name "* ]] && [ -z "$want_kubernetes" ]; then optional_missing+=("$reason"); else missing+=("$reason"); fi
}

# An official plugin tarball (pulumi-resource-<name>-v<version>-linux-amd64.tar.gz) brought in by hand.
install_tarball() { # name version
  local tgz="${PSF_PLUGIN_TARBALLS:-}/pulumi-resource-$1-$2-linux-amd64.tar.gz"
  [ -n "${PSF_PLUGIN_TARBALLS:-}" ] && [ -f "$tgz" ] || return 1
  if PULUMI_HOME="$home" "$bin/pulumi" plugin install resource "$1" "${2#v}" --file "$tgz"; then
    echo "$2" >"$stamps/pulumi-resource-$1"
    return 0
  fi
  why+=("pulumi plugin install --file $tgz failed")
  return 1
}

# Stamps a built plugin when its schema names it at the wanted version; else says what it reports.
stamp_if_reports() { # name version target stamp what
  local reported
  reported=$(PULUMI_HOME="$home" "$bin/pulumi" package get-schema "$3" 2>/dev/null | json 'j.name+" "+j.version' || true)
  if [ "$reported" = "$1 ${2#v}" ]; then
    echo "$4" >"$stamps/pulumi-resource-$1"
    return 0
  fi
  why+=("$5 reports \"$reported\", not \"$1 ${2#v}\"")
  return 1
}

# The provider's own module. Provider modules are not tagged under provider/: the release is the
# commit the SDK's tag points at, taken as a pseudo-version.
build_official() { # name version target
  local name=$1 ver=$2 target=$3 mod=${PLUGIN_MODULE[$1]} sdk=${PLUGIN_SDK[$1]} commit mdir="" got=""
  commit=$(release_commit "$sdk" "$ver")
  local candidates=("$ver")
  [ -n "${PLUGIN_RELEASE[$name $ver]:-}" ] && candidates+=("${PLUGIN_RELEASE[$name $ver]}")
  [ -n "$commit" ] && candidates+=("$(sed -E 's/^(v[0-9]+)\..*/\1/; s/^v1$/v0/' <<<"$ver").0.0-${commit#* }-${commit% *}")
  for v in "${candidates[@]}"; do
    if mdir=$(fetch "$mod" "$v"); then got=$v; break; fi
    why+=("the proxy refuses $mod@$v ($mdir)")
  done
  [ -n "$got" ] || return 1
  log "building pulumi-resource-$name $ver from $mod@$got"
  local w="$src/plugin-$name"
  wrapper "$w" "$mod" "$got" "$mdir"
  # The provider's go.mod replaces its SDK by the sibling folder ../sdk; the SDK module at the
  # release stands in for it.
  if go mod edit -json "$mdir/go.mod" | json "(j.Replace||[]).some(r=>r.Old.Path==='$sdk'&&!r.New.Version)||''" | grep -q true; then
    (cd "$w" && go mod edit -replace="$sdk=$sdk@$ver")
  fi
  # The provider's main package, copied so that the files it embeds can sit beside it: they are
  # made by its generate.go (schema-embed.json from the committed schema.json, with the release
  # version in it, and for kubernetes terraform-mapping-embed.json), which is not in the zip.
  cp -r "$mdir/cmd/pulumi-resource-$name/." "$w/" && chmod -R u+w "$w" && rm -f "$w"/*_test.go
  if [ -f "$w/generate.go" ]; then
    if ! (cd "$w" && go mod tidy >/dev/null && VERSION=${ver#v} nice go run generate.go); then
      why+=("VERSION=${ver#v} go run generate.go failed in $w")
      return 1
    fi
    rm -f "$w/generate.go"
  elif grep -q 'go:embed schema-embed.json' "$w"/*.go && [ -f "$w/schema.json" ]; then
    node -e "process.stdout.write(JSON.stringify(require('$w/schema.json')))" >"$w/schema-embed.json"
  fi
  if gobuild "$w" "$target" . "$mod/pkg/version.Version=${ver#v}" && [ "$(built_from "$target" "$mod")" = "$got" ]; then
    stamp_if_reports "$name" "$ver" "$target" "$ver" "the plugin built from $mod@$got"
    return
  fi
  why+=("go build of $mod@$got failed in $w (a replace to a local folder, e.g. a git submodule, cannot come from the proxy)")
  return 1
}

# scripts/toolchain/<name>: the same provider rebuilt from its parts on the proxy (the Terraform
# provider named in upstream.txt, served through the Pulumi Terraform bridge; or, for command,
# a provider written with pulumi-go-provider). Checked by the schema it reports.
rebuild() { # name version recipe target stamp
  local name=$1 ver=$2 recipe=$3 target=$4 w="$src/rebuild-$1"
  rm -rf "$w" && mkdir -p "$w" && cp "$recipe"/go.mod "$recipe"/*.go "$w/"
  if [ -f "$recipe/upstream.txt" ]; then
    local umod uver udir
    read -r umod uver <"$recipe/upstream.txt"
    if ! udir=$(fetch "$umod" "$uver"); then why+=("the proxy refuses $umod@$uver ($udir)"); return 1; fi
    cp -r "$udir" "$w/upstream" && chmod -R u+w "$w/upstream"
    mkdir -p "$w/upstream/shim" && cp "$recipe"/_shim/*.go "$w/upstream/shim/"
    # patches/: small fixes to the upstream provider, each saying why (git apply works outside a repo).
    for p in "$recipe"/patches/*.patch; do
      [ -f "$p" ] || continue
      if ! (cd "$w/upstream" && git apply "$p"); then why+=("$p does not apply to $umod@$uver"); return 1; fi
    done
  fi
  log "building pulumi-resource-$name $ver from scripts/toolchain/$name${umod:+ ($umod@$uver through the bridge)}"
  # tidy adds the old github.com/pulumi/pulumi-java/pkg module, whose code no longer compiles
  # against the pulumi the bridge requires; the bridge takes that package from pulumi-java itself.
  if (cd "$w" && go mod tidy >/dev/null && go mod edit -droprequire=github.com/pulumi/pulumi-java/pkg &&
      nice go build -trimpath -ldflags "-s -w -X main.version=${ver#v}" -o "$target" .); then
    stamp_if_reports "$name" "$ver" "$target" "$5" "the rebuilt plugin"
    return
  fi
  why+=("go build failed in $w")
  return 1
}

if [ -n "$cached_query" ]; then
  if plugin_cached "$cached_query"; then log "$cached_query $(cat "$stamps/pulumi-resource-$cached_query") cached"; exit 0; fi
  log "$cached_query v$(lockver "@pulumi/$cached_query") not built"
  exit 1
fi

t0=$SECONDS
timed pulumi build_cli || true
timed language-host build_language_host || true
install_dynamic_provider
for p in "${REQUIRED_PLUGINS[@]}"; do timed "$p" build_plugin "$p" || true; done
for p in "${OPTIONAL_PLUGINS[@]}"; do
  if [ -n "$want_kubernetes" ]; then timed "$p" build_plugin "$p" || true; else build_plugin "$p" ""; fi
done

for t in "${timings[@]}"; do log "time $t"; done
log "$(du -sh "$dir" | cut -f1) in $dir, $(du -sh "$gocache" | cut -f1) Go module and build cache in $gocache ($((SECONDS - t0)) s)"
for m in "${optional_missing[@]}"; do log "optional part not installed (only the k8s target needs it): $m"; done
if [ ${#missing[@]} -eq 0 ]; then
  log "complete: PATH=$bin PULUMI_HOME=$home"
  exit 0
fi
log "incomplete; these required parts could not be installed:"
for m in "${missing[@]}"; do echo "  - $m" >&2; done
exit 3
