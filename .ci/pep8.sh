#!/usr/bin/env bash
# Seconds-fast pre-check of ansible-test's pep8 sanity test (same line length and ignore list).
set -euo pipefail
cd "$(dirname "$0")/.."
ignore=$(python3 - <<'PY'
import pathlib, ansible_test
path = pathlib.Path(ansible_test.__file__).parent / "_util/controller/sanity/pep8/current-ignore.txt"
print(",".join(line.strip() for line in path.read_text().splitlines() if line.strip() and not line.startswith("#")))
PY
)
python3 -m pycodestyle --max-line-length 160 --ignore "$ignore" plugins tests bench "$@"
