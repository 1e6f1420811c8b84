#!/usr/bin/env bash
# Copy the front-end assets that `tipkg serve` bundles from node_modules/ into
# src/tipkg/static/vendor/ (git-ignored), so the query editor works with no CDN and no internet.
# Run `npm ci --ignore-scripts` first; package-lock.json pins every version.
set -euo pipefail
cd "$(dirname "$0")/.."

source_dir=node_modules/@zazuko/yasgui/build
target_dir=src/tipkg/static/vendor
assets=(yasgui.min.js yasgui.min.css)

for asset in "${assets[@]}"; do
  if [[ ! -f "$source_dir/$asset" ]]; then
    echo "vendor-assets: $source_dir/$asset is missing; run 'npm ci --ignore-scripts' first" >&2
    exit 1
  fi
done

mkdir -p "$target_dir"
for asset in "${assets[@]}"; do
  cp "$source_dir/$asset" "$target_dir/$asset"
done
version=$(node -p "require('./node_modules/@zazuko/yasgui/package.json').version")
echo "vendor-assets: YASGUI $version copied to $target_dir"
