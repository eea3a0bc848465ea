#!/bin/sh
# Regenerate templates/static/plotly/plotly-custom.min.js and its manifest from the pinned
# npm packages. Needs Node and npm; the Python build never runs this.
set -eu
cd "$(dirname "$0")"
npm ci --no-audit --no-fund --ignore-scripts --loglevel=error
node build.mjs
