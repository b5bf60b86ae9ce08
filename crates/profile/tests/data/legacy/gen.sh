#!/bin/sh
# Regenerates the Go legacy-text fixtures in this directory with Go 1.27.
# Usage: HEAPDRIFT_GO=/path/to/go ./gen.sh
set -eu
here=$(cd "$(dirname "$0")" && pwd)
go=${HEAPDRIFT_GO:-go}
cd "$here/gen"
"$go" build -o /tmp/heapdrift-legacy-gen .
/tmp/heapdrift-legacy-gen "$here"
rm -f /tmp/heapdrift-legacy-gen
