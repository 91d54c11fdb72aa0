#!/usr/bin/env bash
# Installs Debian's Chromium for the browser test (test/browser/graphiql.test.ts).
# Idempotent: does nothing when /usr/bin/chromium is there; refreshes the package lists
# only when they don't know chromium, or when they are stale and the install fails.
set -euo pipefail

if [ -x /usr/bin/chromium ]; then
  exit 0
fi

install_chromium() { DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }

if ! apt-cache policy chromium 2>/dev/null | grep -q 'Candidate: [0-9]'; then
  apt-get update -qq
fi
install_chromium || { apt-get update -qq && install_chromium; }
/usr/bin/chromium --version
