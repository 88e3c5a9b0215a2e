#!/usr/bin/env bash
# Refreshes the API reference page's renderer, Redoc's standalone bundle,
# from the npm registry: downloads the package tarball of redoc@VERSION
# (npm pack; no package.json, no node_modules, nothing installed), checks it
# against the registry's integrity hash, and copies the bundle and its
# licence here, where go:embed puts them in the server binary (api/docs.go).
# go build never runs this; run it to move to another version, then run the
# docs page's test (go test ./api -run Docs) and commit the files:
#
#   api/docs/update.sh          # the version pinned below
#   api/docs/update.sh 3.0.2    # another one; then update the pin
set -euo pipefail
version=${1:-3.0.1}
here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cd "$tmp"
tgz=$(npm pack --silent "redoc@$version")
want=$(npm view "redoc@$version" dist.integrity)
got="sha512-$(openssl dgst -sha512 -binary "$tgz" | base64 -w0)"
if [ "$got" != "$want" ]; then
  echo "$0: $tgz: integrity $got, the registry says $want" >&2
  exit 1
fi
tar xzf "$tgz" package/bundles/redoc.standalone.js package/LICENSE
cp package/bundles/redoc.standalone.js "$here/redoc.standalone.js"
cp package/LICENSE "$here/redoc.LICENSE"
printf 'redoc %s %s\n' "$version" "$want" >"$here/VERSION"
echo "redoc $version: $(wc -c <"$here/redoc.standalone.js") bytes in $here"
