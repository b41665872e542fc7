"""Command line: `python -m model train` and `python -m model sample`."""
from __future__ import annotations

import sys

import click
import numpy as np

from .gpt import Config
from .lm import load_model
from .train import DataError, read_training_names, train
from .weights import DEFAULT_WEIGHTS, WeightsError, file_sha256, save_weights


@click.group()
def cli() -> None:
    """microgpt: train the kit's weights or sample names from them."""


@cli.command("train")
@click.option("--data", "data_path", required=True, type=click.Path(dir_okay=False),
              help="Training names, one per line (e.g. ../shared/data/names.txt).")
@click.option("--steps", default=8000, show_default=True, type=click.IntRange(1))
@click.option("--batch-size", default=128, show_default=True, type=click.IntRange(1))
@click.option("--seed", default=1, show_default=True, type=int)
@click.option("--out", default=str(DEFAULT_WEIGHTS), show_default=True,
              type=click.Path(dir_okay=False), help="Where to write the weights JSON.")
def train_cmd(data_path: str, steps: int, batch_size: int, seed: int, out: str) -> None:
    """Train microgpt (4,192 parameters) with Adam; deterministic for a seed."""
    try:
        names = read_training_names(data_path)
    except DataError as exc:
        raise click.ClickException(str(exc)) from None
    interactive = sys.stderr.isatty()
    with click.progressbar(length=steps, label="training", file=sys.stderr, show_pos=True,
                           hidden=not interactive) as bar:
        def on_step(step: int, running_loss: float) -> None:
            if interactive:
                bar.label = f"training (loss {running_loss:.4f})"
                bar.update(1)
            elif (step + 1) % max(1, steps // 10) == 0 or step + 1 == steps:
                click.echo(f"step {step + 1}/{steps}  loss {running_loss:.4f}", err=True)
        result = train(names, file_sha256(data_path), steps, batch_size, seed, on_step=on_step)
    try:
        save_weights(out, Config(), result.params, result.meta)
    except (OSError, WeightsError) as exc:
        raise click.ClickException(f"cannot write {out}: {exc}") from None
    meta = result.meta
    click.echo(f"train loss {meta['train_loss']:.4f}  validation loss {meta['val_loss']:.4f}  "
               f"-> {out}")


@cli.command("sample")
@click.option("--prefix", default="", help="Letters every name starts with.")
@click.option("-n", "count", default=10, show_default=True, type=click.IntRange(1))
@click.option("--seed", default=0, show_default=True, type=int)
@click.option("--temperature", default=0.5, show_default=True, type=click.FloatRange(min=0, min_open=True))
@click.option("--weights", default=str(DEFAULT_WEIGHTS), show_default=True,
              type=click.Path(dir_okay=False))
def sample_cmd(prefix: str, count: int, seed: int, temperature: float, weights: str) -> None:
    """Print COUNT names sampled from the model, one per line."""
    try:
        model = load_model(weights)
    except WeightsError as exc:
        raise click.ClickException(str(exc)) from None
    rng = np.random.default_rng(seed)
    try:
        for _ in range(count):
            click.echo(model.sample(prefix.lower(), temperature, rng))
    except ValueError as exc:
        raise click.ClickException(f"--prefix: {exc}") from None


if __name__ == "__main__":
    cli(prog_name="python -m model")
