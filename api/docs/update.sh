#!/usr/bin/env bash
# Refreshes the API reference page's renderer, Redoc's standalone bundle,
# from the npm registry: downloads the package tarball of redoc@VERSION
# (npm pack; no package.json, no node_modules, nothing installed), checks it
# against the registry's integrity hash, and copies the bundle and its
# licence here, where go:embed puts them in the server binary (api/docs.go),
# with one change (its logo, below).
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
# The one change: the "API docs by" badge loads Redocly's logo from their
# CDN, which the page's Content-Security-Policy blocks (the page loads
# nothing from elsewhere, and works offline). It shows the name instead,
# an SVG inlined as a data: URL, which the policy allows.
logo="data:image/svg+xml,%3Csvg xmlns='http://www.w3.org/2000/svg' width='52' height='14'%3E%3Ctext x='0' y='11' font-family='sans-serif' font-size='11' fill='%23555'%3ERedocly%3C/text%3E%3C/svg%3E"
n=$(grep -o 'https://cdn.redoc.ly/redoc/logo-mini[a-z-]*\.svg' package/bundles/redoc.standalone.js | wc -l)
if [ "$n" -ne 2 ]; then
  echo "$0: expected the bundle to name Redocly's two logo URLs, found $n: check the patch" >&2
  exit 1
fi
sed -e "s|https://cdn.redoc.ly/redoc/logo-mini-full.svg|$logo|; s|https://cdn.redoc.ly/redoc/logo-mini.svg|$logo|" \
  package/bundles/redoc.standalone.js >"$here/redoc.standalone.js"
cp package/LICENSE "$here/redoc.LICENSE"
printf 'redoc %s %s (logo URLs inlined by update.sh)\n' "$version" "$want" >"$here/VERSION"
echo "redoc $version: $(wc -c <"$here/redoc.standalone.js") bytes in $here"
