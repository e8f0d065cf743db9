#!/usr/bin/env bash
# ansible-test sanity on a copy of the collection at .../ansible_collections/berth/deploy.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d /tmp/berth-sanity.XXXXXX)
dest=$work/ansible_collections/berth/deploy
mkdir -p "$dest"
cd "$repo"
git ls-files -z --cached --others --exclude-standard | grep -zv '^\.collections/' | xargs -0 cp --parents -t "$dest"

# ansible-test bootstraps pip in its venvs with a script from a host we cannot reach: give it ours.
pip_version=$(python3 - <<'PY'
import re, ansible_test, pathlib
text = (pathlib.Path(ansible_test.__file__).parent / "_internal" / "python_requirements.py").read_text()
print(re.search(r"pip='([0-9.]+)'", text).group(1))
PY
)
mkdir -p ~/.ansible/test/cache
cp "$repo/.ci/get_pip_standin.py" ~/.ansible/test/cache/"get_pip_${pip_version//./_}.py"

cd "$dest"
git init -q && git add -A
ansible-test sanity --local --python "$(python3 -c 'import sys; print("%d.%d" % sys.version_info[:2])')" "$@"
rm -rf "$work"
