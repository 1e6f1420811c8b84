"""The settings registry: every setting documented in the README, overridable from env and CLI."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tipkg.errors import InputError
from tipkg.settings import SETTINGS, Settings

from support import PROJECT_ROOT

TIPKG = str(Path(sys.executable).parent / "tipkg")


@pytest.mark.parametrize("setting", SETTINGS, ids=lambda s: s.name)
def test_every_setting_is_documented_in_the_readme(setting: object) -> None:
    readme = (PROJECT_ROOT / "README.md").read_text(encoding="utf-8")
    row = next(
        (line for line in readme.splitlines() if line.startswith(f"| `{setting.name}`")), None
    )
    assert row is not None, f"README has no settings row for {setting.name}"
    assert f"`{setting.env_var}`" in row
    assert setting.description in row


@pytest.mark.parametrize("setting", SETTINGS, ids=lambda s: s.name)
def test_every_setting_is_a_cli_option(setting: object) -> None:
    result = subprocess.run([TIPKG, "serve", "--help"], capture_output=True, text=True, check=True)
    assert "--" + setting.name.replace("_", "-") in result.stdout


def test_environment_then_overrides() -> None:
    settings = Settings.load(
        {"port": "9000"}, environ={"TIPKG_PORT": "8000", "TIPKG_MAX_ROWS": "5"}
    )
    assert settings.port == 9000
    assert settings.max_rows == 5
    assert settings.query_timeout == 10.0


def test_bad_values_are_input_errors() -> None:
    with pytest.raises(InputError, match="TIPKG_PORT"):
        Settings.load(environ={"TIPKG_PORT": "eighty"})
    with pytest.raises(InputError, match="must be http"):
        Settings.load({"base_iri": "ftp://x/"}, environ={})
    with pytest.raises(InputError, match="expected true or false"):
        Settings.load(environ={"TIPKG_FEDERATION": "maybe"})


def test_federation_allow_is_a_list() -> None:
    settings = Settings.load(
        environ={"TIPKG_FEDERATION_ALLOW": "https://a/sparql, https://b/sparql"}
    )
    assert settings.federation_allow == ("https://a/sparql", "https://b/sparql")
