#!/usr/bin/env bash
# eslint over the check page and these tests (tests/web/node_modules from `npm ci`).
set -euo pipefail
cd "$(dirname "$0")/../.."
if [ ! -x tests/web/node_modules/.bin/eslint ]; then
  (cd tests/web && npm ci --no-audit --no-fund >/dev/null 2>&1) ||
    { echo "SKIPPED: eslint is not installed (cd tests/web && npm ci)" >&2; exit 77; }
fi
exec tests/web/node_modules/.bin/eslint -c tests/web/eslint.config.js src/web/page tests/web/*.mjs tests/web/*.js
