"""The settings registry: every setting documented in the README, overridable from the
environment and from a typed CLI option of the command the README names; secrets from the
environment only, and never shown."""

from __future__ import annotations

import re
import shlex

import pytest
from click.testing import CliRunner

from tipkg.cli import GROUP_SETTINGS, PUBLISH_SETTINGS, main
from tipkg.errors import InputError
from tipkg.settings import SETTINGS, Setting, Settings

from support import PROJECT_ROOT

README = (PROJECT_ROOT / "README.md").read_text(encoding="utf-8")
# What `--help` shows after an option that takes a value, by the type of the setting's default.
METAVARS = {int: "INTEGER", float: "FLOAT", str: "TEXT", tuple: "LIST"}


def readme_row(setting: Setting) -> list[str]:
    row = next((line for line in README.splitlines() if line.startswith(f"| `{setting.name}`")), "")
    assert row, f"README has no settings row for {setting.name}"
    return [cell.strip() for cell in row.strip("|").split("|")]


def command_of(setting: Setting) -> tuple[str, ...]:
    """The command that has the setting's option (none: it goes before the command)."""
    if setting.name in GROUP_SETTINGS:
        return ()
    return ("publish",) if setting.name in PUBLISH_SETTINGS else ("serve",)


SECRETS = [setting for setting in SETTINGS if setting.secret]
OPTIONS = [setting for setting in SETTINGS if not setting.secret]


def help_text(*args: str) -> str:
    result = CliRunner().invoke(main, [*args, "--help"], terminal_width=200)
    assert result.exit_code == 0, result.output
    return result.output


@pytest.mark.parametrize("setting", SETTINGS, ids=lambda s: s.name)
def test_every_setting_is_documented_in_the_readme(setting: Setting) -> None:
    _, env_var, cli, default, description = readme_row(setting)
    assert env_var == f"`{setting.env_var}`"
    assert description == setting.description
    assert default in (f"`{setting.default!r}`", "`(none)`")
    if setting.secret:
        assert cli == "(environment only: a secret)"
    else:
        assert cli.startswith(f"`{' '.join((*command_of(setting), setting.option))}`"), cli


@pytest.mark.parametrize("setting", OPTIONS, ids=lambda s: s.name)
def test_every_setting_is_a_typed_option_of_its_command(setting: Setting) -> None:
    """Where the README says, with the type its default has: a boolean is a flag pair."""
    shown = help_text(*command_of(setting))
    line = next((ln for ln in shown.splitlines() if ln.strip().startswith(setting.option)), "")
    assert setting.env_var in shown
    if setting.kind is bool:
        assert line.split()[:3] == [setting.option, "/", f"--no-{setting.option[2:]}"]
    else:
        assert line.split()[:2] == [setting.option, METAVARS[setting.kind]]


@pytest.mark.parametrize("setting", SECRETS, ids=lambda s: s.name)
def test_a_secret_comes_from_the_environment_only_and_is_never_shown(setting: Setting) -> None:
    """A command line is readable by every user of the machine; a repr ends up in logs."""
    assert setting.default == ""
    for command in ((), ("serve",), ("publish",)):
        assert setting.option not in help_text(*command)
    settings = Settings.load(environ={setting.env_var: "hunter2"})
    assert getattr(settings, setting.name) == "hunter2"
    assert "hunter2" not in repr(settings)


def test_cli_values_arrive_typed_and_override_the_environment() -> None:
    """A command line parsed as `tipkg` parses it, resolved as `tipkg serve` resolves it."""
    serve_args = shlex.split(
        "--federation --port 9001 --query-timeout 2.5 "
        "--federation-allow http://a/sparql,http://b/sparql"
    )
    with main.make_context("tipkg", ["--base-iri", "http://127.0.0.1:9000/", "serve"]) as group:
        serve = main.commands["serve"]
        with serve.make_context("serve", serve_args, parent=group) as command:
            overrides = {**group.params, **command.params}
    overrides.pop("project_dir")
    overrides.pop("dist_dir")
    settings = Settings.load(overrides, environ={"TIPKG_PORT": "8000", "TIPKG_MAX_ROWS": "5"})
    assert settings.base_iri == "http://127.0.0.1:9000/"
    assert settings.federation is True
    assert settings.port == 9001
    assert settings.query_timeout == 2.5
    assert settings.federation_allow == ("http://a/sparql", "http://b/sparql")
    assert settings.max_rows == 5
    assert settings.explicit == {
        "base_iri",
        "federation",
        "port",
        "query_timeout",
        "federation_allow",
        "max_rows",
    }


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["serve", "--port", "eighty"], "'eighty' is not a valid integer"),
        (["serve", "--federation", "yes"], "Got unexpected extra argument (yes)"),
        (["--base-iri", "ftp://x/", "serve"], "a base IRI must be http(s)"),
        (["serve", "--base-iri", "http://x/"], "No such option '--base-iri'"),
    ],
)
def test_bad_cli_values_are_usage_errors(args: list[str], message: str) -> None:
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 2
    assert message in result.output


def test_every_tipkg_command_in_the_readme_parses() -> None:
    """Each command line the README shows names options that exist where it puts them."""
    commands = re.findall(r"(?m)(?:^\$ |`)(tipkg [^`\n|#]*)", README)
    assert len(commands) > 10
    for command in commands:
        args = shlex.split(command)[1:]
        result = CliRunner().invoke(main, [*args, "--help"])
        assert result.exit_code == 0, (command, result.output)


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
