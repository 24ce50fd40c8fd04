"""Every command is documented: --help works, says what it does, and shows an example."""

from __future__ import annotations

from click.testing import CliRunner

from stepgrad.cli import cli


def test_every_command_has_help_with_an_example():
    runner = CliRunner()
    names = cli.list_commands(None)  # type: ignore[arg-type]
    assert {"explain", "train", "names"} <= set(names)
    for name in names:
        result = runner.invoke(cli, [name, "--help"])
        assert result.exit_code == 0, (name, result.output)
        assert "Example" in result.output, name
        assert len(result.output.splitlines()) > 5, name


def test_top_level_help_lists_commands(cli):
    from tests.conftest import run_cli

    result = run_cli("--help")
    assert result.returncode == 0
    for name in ("explain", "train", "names"):
        assert name in result.stdout


def test_names_lists_every_quantity(cli):
    import stepgrad

    result = cli("names")
    assert result.returncode == 0
    listed = [line.split("=")[0].strip() for line in result.stdout.splitlines() if "=" in line]
    assert listed == list(stepgrad.explain(stepgrad.builtin()).values)


def test_only_and_digits(cli):
    result = cli("explain", "--only", "w5", "--digits", "4", "--format", "text", "-o", "-")
    assert result.returncode == 0, result.stderr
    assert "dE_total/dw5" in result.stdout and "0.08217" in result.stdout
    assert "dE_total/dw1" not in result.stdout
