"""A berth_* default is stated once, in _config.DEFAULTS: what the roles' argument specs document must match it."""
from pathlib import Path

import pytest
import yaml

from ansible_collections.berth.deploy.plugins.module_utils._config import DEFAULTS

ROLES = Path(__file__).resolve().parents[3] / "roles"
SPECS = sorted(ROLES.glob("*/meta/argument_specs.yml"))


def documented_defaults():
    for path in SPECS:
        for entry, spec in yaml.safe_load(path.read_text())["argument_specs"].items():
            for name, option in (spec.get("options") or {}).items():
                if name.startswith("berth_") and "default" in option:
                    yield f"{path.parent.parent.name}:{entry}:{name}", name, option["default"]


@pytest.mark.parametrize("where, name, default", list(documented_defaults()))
def test_a_documented_default_is_the_one_berth_applies(where, name, default):
    assert name in DEFAULTS, f"{where}: {name} is not a variable berth.deploy reads"
    assert default == DEFAULTS[name], f"{where}: documents {default!r}, berth.deploy applies {DEFAULTS[name]!r}"


def test_no_role_repeats_berth_defaults_in_its_defaults_file():
    for path in ROLES.glob("*/defaults/main.yml"):
        names = [name for name in (yaml.safe_load(path.read_text()) or {}) if name.startswith("berth_")]
        assert names == [], f"{path}: {names} are defaulted in _config.DEFAULTS already"
