#!/bin/sh
# Builds the packaged plugin for `pulumi plugin install resource zeroroot <version> --file <tarball>`:
# the plugin, lib/ and production dependencies only (npm ci --omit=dev), with the launcher at the
# tarball's root where the engine looks for it.
#   provider/pack.sh [OUT_DIR]  (default .zeroroot/dist, git-ignored) -> OUT_DIR/pulumi-resource-zeroroot-v<version>-linux-<arch>.tar.gz
set -eu
repo="$(cd "$(dirname "$0")/.." && pwd -P)"
out="${1:-$repo/.zeroroot/dist}"
version="$(node -p 'require(process.argv[1]).version' "$repo/provider/schema.json")"
case "$(uname -m)" in x86_64) arch=amd64 ;; aarch64) arch=arm64 ;; *) arch="$(uname -m)" ;; esac
stage="$(mktemp -d)"
trap 'rm -rf "$stage"' EXIT
cp -R "$repo/provider" "$repo/lib" "$repo/package.json" "$repo/package-lock.json" "$stage/"
rm -f "$stage/provider/pack.sh"
(cd "$stage" && npm ci --omit=dev --ignore-scripts --no-audit --no-fund --loglevel=error)
cat > "$stage/pulumi-resource-zeroroot" <<'LAUNCH'
#!/bin/sh
exec "$(dirname "$0")/provider/pulumi-resource-zeroroot" "$@"
LAUNCH
chmod +x "$stage/pulumi-resource-zeroroot"
mkdir -p "$out"
tarball="$out/pulumi-resource-zeroroot-v$version-linux-$arch.tar.gz"
tar -C "$stage" -czf "$tarball" .
echo "$tarball"
