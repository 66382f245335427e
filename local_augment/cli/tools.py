"""The commands that read the model store or a finished run: models list/verify, inspect, report."""

from __future__ import annotations

import json
from pathlib import Path

import click

from local_augment.cli.main import cli, user_errors
from local_augment.errors import UserError
from local_augment.methods import METHODS


@cli.group()
def models() -> None:
    """The model store (models/manifest.toml)."""


@models.command("list")
@click.option("--models-dir", type=click.Path(path_type=Path), default=None)
@user_errors
def models_list(models_dir: Path | None) -> None:
    """Every model in the manifest, its role and whether it is installed."""
    from local_augment.engines.manifest import load_manifest

    manifest = load_manifest(models_dir)
    for spec in manifest.models.values():
        installed = "installed" if manifest.path(spec).is_dir() else "not installed"
        click.echo(f"{spec.name:28} {spec.role:11} {spec.license:12} {installed:14} "
                   f"{manifest.path(spec)}")


@models.command("verify")
@click.option("--models-dir", type=click.Path(path_type=Path), default=None)
@click.option("--all", "check_all", is_flag=True, help="also report models that are not installed")
@user_errors
def models_verify(models_dir: Path | None, check_all: bool) -> None:
    """Hash every installed model's files against the manifest (exit 1 if any is corrupt)."""
    from local_augment.engines.manifest import load_manifest

    manifest = load_manifest(models_dir)
    failed = False
    for spec in manifest.models.values():
        if not check_all and not spec.default and not manifest.path(spec).is_dir():
            continue
        state, detail = manifest.status(spec, full=True)
        colour = {"ok": "green", "missing": "yellow"}.get(state, "red")
        hint = f" — install with `{spec.install}`" if state != "ok" else ""
        click.secho(f"{spec.name:28} {state:10} {detail}{hint}", fg=colour)
        failed |= state in ("corrupt", "unverified") or (state == "missing" and spec.default)
    if failed:
        raise SystemExit(1)


@cli.command("inspect")
@click.argument("output_dir", metavar="OUT", type=click.Path(exists=True, file_okay=False,
                                                             path_type=Path))
@click.option("--method", "-m", type=click.Choice(METHODS), help="one method only")
@click.option("--reason", "-r", help="rejected rows whose reason starts with this (e.g. artifact)")
@click.option("-n", "n", type=click.IntRange(min=1), default=5, show_default=True,
              help="rows per method and verdict")
@user_errors
def inspect_cmd(output_dir: Path, method: str | None, reason: str | None, n: int) -> None:
    """Kept and rejected rows of a run beside their source rows."""
    from local_augment.cli.inspection import inspect_rows

    click.echo(inspect_rows(output_dir, method=method, reason=reason, n=n))


@cli.command()
@click.argument("output_dir", type=click.Path(exists=True, file_okay=False, path_type=Path))
@user_errors
def report(output_dir: Path) -> None:
    """Re-render report.html from OUTPUT_DIR/report.json."""
    from local_augment.run.report import write_report

    path = output_dir / "report.json"
    if not path.is_file():
        raise UserError(f"{path}: no report.json; run `local-augment augment` first")
    write_report(json.loads(path.read_text(encoding="utf-8")), output_dir)
    click.echo(f"wrote {output_dir / 'report.html'}")
