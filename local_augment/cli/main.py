"""The command line: a thin click layer over the library (augment, decontaminate, qc, validate);
the commands that read the model store or a finished run are in cli/tools.py."""

from __future__ import annotations

import functools
import logging
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from local_augment.cli.progress import BarProgress
from local_augment.config import Config, load_config
from local_augment.data.formats import FORMAT_CHOICES
from local_augment.errors import UserError
from local_augment.methods import METHODS
from local_augment.version import __version__


def user_errors(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Show a UserError as one clean line (exit 1); real bugs keep their traceback."""
    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except UserError as exc:
            raise click.ClickException(str(exc)) from None
    return wrapper


def _methods(value: str | None) -> list[str] | None:
    if not value:
        return None
    names = [m.strip() for m in value.split(",") if m.strip()]
    unknown = [m for m in names if m not in METHODS]
    if unknown:
        raise click.BadParameter(f"unknown method(s) {', '.join(unknown)}; "
                                 f"methods: {', '.join(METHODS)}", param_hint="--methods")
    return names


@click.group()
@click.version_option(__version__, prog_name="local-augment")
@click.option("-v", "--verbose", count=True, help="-v: info logs, -vv: debug logs")
def cli(verbose: int) -> None:
    """Offline, local-model data augmentation for LLM fine-tuning datasets."""
    level = logging.WARNING - 10 * min(verbose, 2)
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")
    if verbose < 2:
        os.environ.setdefault("VLLM_LOGGING_LEVEL", "WARNING")  # engine processes log on their own
        for noisy in ("vllm", "transformers", "sentence_transformers", "httpx", "urllib3"):
            logging.getLogger(noisy).setLevel(max(level, logging.WARNING))


@cli.command()
@click.argument("input_path", metavar="INPUT", type=click.Path(path_type=Path))
@click.option("--output-dir", "-o", required=True, type=click.Path(path_type=Path),
              help="folder for augmented.jsonl, rejected.jsonl, report.json, report.html")
@click.option("--config", "-c", "config_path", type=click.Path(path_type=Path),
              help="YAML or TOML config; only the keys you change")
@click.option("--methods", help=f"comma-separated, from: {', '.join(METHODS)}")
@click.option("--seed", type=int, help="run seed (default: run.seed in the config, 0)")
@click.option("--format", "fmt", type=click.Choice(FORMAT_CHOICES), help="override detection")
@click.option("--strict", is_flag=True, help="stop at the first bad input row")
@click.option("--no-provenance", is_flag=True, help="drop _provenance for strict trainers")
@click.option("--fresh", is_flag=True, help="ignore finished shards of an earlier run")
@click.option("--executor", type=click.Choice(["local", "ray"]), default="local",
              show_default=True, help="where shards run: this process, or a Ray cluster")
@click.option("--ray-address", help="Ray cluster address (default: start a local Ray)")
@click.option("--ray-llm", type=click.Choice(["auto", "ray.data.llm", "actor"]), default="auto",
              show_default=True,
              help="with --executor ray, LLM methods: vLLM replicas through ray.data.llm, vLLM "
                   "inside the shard actors, or auto (ray.data.llm when the cluster has GPUs)")
@click.option("--ray-llm-replicas", type=click.IntRange(min=1), default=1, show_default=True,
              help="vLLM replicas for --ray-llm ray.data.llm")
@click.option("--eval-set", "eval_sets", multiple=True, type=click.Path(path_type=Path),
              help="eval prompts (JSONL, Parquet or one per line) no row may copy or reword; "
                   "repeatable, added to qc.eval_sets")
@click.option("--drop-contaminated", is_flag=True,
              help="drop originals that match an eval prompt (default: keep and list them)")
@click.option("--quiet", "-q", is_flag=True, help="no progress bars")
@click.pass_context
@user_errors
def augment(click_ctx: click.Context, input_path: Path, output_dir: Path,
            config_path: Path | None, methods: str | None, seed: int | None, fmt: str | None,
            strict: bool, no_provenance: bool, fresh: bool, executor: str,
            ray_address: str | None, ray_llm: str, ray_llm_replicas: int,
            eval_sets: tuple[Path, ...], drop_contaminated: bool, quiet: bool) -> None:
    """Augment INPUT (Alpaca JSONL, chat messages JSONL or Parquet) into --output-dir.

    Without -v, what the model libraries print (vLLM, torch, transformers, Triton, Ray) goes to
    OUTPUT/logs/run.log; the terminal shows progress, notices and the summary.
    """
    from local_augment.cli.quiet import quiet_terminal
    from local_augment.executors import get_executor
    from local_augment.run.pipeline import prepare_output_dir, run

    overrides = {"run.seed": seed} if seed is not None else {}
    cfg = _with_eval_sets(load_config(config_path, overrides), eval_sets, drop_contaminated)
    verbose = click_ctx.find_root().params.get("verbose", 0)
    log_path = prepare_output_dir(output_dir) / "logs" / "run.log"
    # transformers' own "Loading weights" bars: never on the terminal
    os.environ["HF_HUB_DISABLE_PROGRESS_BARS"] = "1"
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    with quiet_terminal(log_path, enabled=verbose == 0) as term:
        bars = BarProgress(enabled=not quiet, stream=term.err)
        try:
            result = run(cfg, input_path, output_dir, fmt=fmt, methods=_methods(methods),
                         strict=strict, provenance=not no_provenance, fresh=fresh, progress=bars,
                         executor=get_executor(executor, ray_address, llm=ray_llm,
                                               llm_replicas=ray_llm_replicas))
        except (UserError, click.ClickException, KeyboardInterrupt):
            raise
        except Exception as exc:
            if term.log_path is None:
                raise
            import traceback

            traceback.print_exc()  # into the log
            raise click.ClickException(
                f"{type(exc).__name__}: {str(exc).strip().splitlines()[-1] if str(exc).strip() else ''}"
                f" — the details are in {term.log_path}") from None
        finally:
            bars.close()
    c = result.report["counts"]
    click.echo(
        f"{c['input_rows']} input rows ({c['bad_input_rows']} bad) -> {c['output_rows']} rows "
        f"({c['originals']} originals + {c['augmented']} augmented, "
        f"{c['augmented_share']:.0%} augmented); {c['rejected_rows']} rejected. "
        f"See {result.output_dir / 'report.html'}"
    )
    _contamination_line(result.report.get("contamination"), result.output_dir)
    for line in result.report.get("diagnosis", []):
        click.secho(line, fg="yellow", err=True)


def _with_eval_sets(cfg: Config, eval_sets: tuple[Path, ...], drop: bool) -> Config:
    """The config with --eval-set files added to qc.eval_sets and --drop-contaminated applied."""
    if eval_sets:
        cfg.qc.eval_sets = [*cfg.qc.eval_sets, *eval_sets]
    if drop:
        cfg.qc.drop_contaminated = True
    return cfg


def _contamination_line(c: dict[str, Any] | None, output_dir: Path) -> None:
    if not c:
        return
    n = c["originals"]
    fate = "dropped" if c["drop"] else "kept (--drop-contaminated drops them)"
    click.secho(f"eval contamination: {n} original(s) match an eval prompt, {fate}; "
                f"{c['candidates']} candidate(s) and {c['variants_of_contaminated']} variant(s) "
                f"of contaminated originals rejected. See {output_dir / 'contaminated.jsonl'}",
                fg="yellow" if n or c["candidates"] else None, err=True)


@cli.command()
@click.argument("input_path", metavar="INPUT", type=click.Path(path_type=Path))
@click.option("--eval-set", "eval_sets", multiple=True, type=click.Path(path_type=Path),
              help="eval prompts (JSONL, Parquet or one per line); repeatable")
@click.option("--output-dir", "-o", required=True, type=click.Path(path_type=Path),
              help="folder for clean.jsonl, contaminated.jsonl, rejected.jsonl and the report")
@click.option("--config", "-c", "config_path", type=click.Path(path_type=Path),
              help="YAML or TOML config; its qc.eval_* keys tune the check")
@click.option("--format", "fmt", type=click.Choice(FORMAT_CHOICES), help="override detection")
@click.option("--drop-contaminated", is_flag=True,
              help="leave contaminated rows out of the clean dataset (they go to rejected.jsonl)")
@user_errors
def decontaminate(input_path: Path, eval_sets: tuple[Path, ...], output_dir: Path,
                  config_path: Path | None, fmt: str | None, drop_contaminated: bool) -> None:
    """Check INPUT's rows against eval sets (n-grams and embeddings), without augmenting.

    Writes clean.jsonl (clean.parquet for Parquet input: every usable row, contaminated ones
    only without --drop-contaminated), contaminated.jsonl, rejected.jsonl and the report.
    """
    from local_augment.run.decontaminate import run_decontaminate

    cfg = _with_eval_sets(load_config(config_path), eval_sets, drop_contaminated)
    report = run_decontaminate(cfg, input_path, output_dir, fmt=fmt)
    c = report["counts"]
    click.echo(f"{c['input_rows']} input rows ({c['bad_input_rows']} bad) -> "
               f"{c['output_rows']} rows in {output_dir / report['output']}; "
               f"{c['rejected_rows']} rejected")
    _contamination_line(report["contamination"], output_dir)


@cli.command()
@click.argument("pairs_path", metavar="PAIRS.jsonl", type=click.Path(path_type=Path))
@click.option("--config", "-c", "config_path", type=click.Path(path_type=Path),
              help="YAML or TOML config; its qc section tunes the checks")
@click.option("--output", "-o", "out_path", type=click.Path(path_type=Path),
              help="write scored lines here (default: standard output)")
@click.option("--all-scores", is_flag=True,
              help="compute every score for every pair, not only until the first reject")
@click.option("--method", "method", default=None,
              help="the method of lines that name none (e.g. paraphrase)")
@click.option("--gate", is_flag=True,
              help="apply the low-yield gate as a run does (for a file of one run's candidates)")
@user_errors
def qc(pairs_path: Path, config_path: Path | None, out_path: Path | None,
       all_scores: bool, method: str | None, gate: bool) -> None:
    """Score (source, variant) pairs with the quality-control chain, without a run.

    Each line of PAIRS.jsonl has source_instruction and variant_instruction, and may have
    method, source_output and variant_output; each output line is the input line plus
    `verdict` (kept, or the reject reason) and `scores`.
    """
    from local_augment.run.pairs import score_pairs

    cfg = load_config(config_path)
    n, counts, notices = score_pairs(pairs_path, cfg, out_path, exhaustive=all_scores,
                                     method=method, gate=gate)
    for note in notices:
        click.secho(note, fg="yellow", err=True)
    summary = ", ".join(f"{k} {v}" for k, v in counts.most_common())
    click.echo(f"{n} pairs: {summary}", err=True)


@cli.command()
@click.argument("input_path", metavar="INPUT", type=click.Path(path_type=Path))
@click.option("--config", "-c", "config_path", type=click.Path(path_type=Path))
@click.option("--format", "fmt", type=click.Choice(FORMAT_CHOICES))
@click.option("--max-errors", default=20, show_default=True, help="problems listed at most")
@user_errors
def validate(input_path: Path, config_path: Path | None, fmt: str | None, max_errors: int) -> None:
    """Check INPUT and the config without running any model (exit 1 on any problem)."""
    from local_augment.data.formats import read_examples
    from local_augment.errors import BadRow

    load_config(config_path)
    good = bad = 0
    layouts: set[str] = set()
    for item in read_examples(input_path, fmt):
        if isinstance(item, BadRow):
            bad += 1
            if bad <= max_errors:
                click.echo(str(item), err=True)
        else:
            good += 1
            layouts.add(item.layout)
    click.echo(f"{input_path}: {good} usable rows ({', '.join(sorted(layouts)) or 'none'}), "
               f"{bad} bad rows; config ok")
    if bad:
        raise SystemExit(1)


def main() -> None:
    cli(prog_name="local-augment")


if __name__ == "__main__":
    main()
