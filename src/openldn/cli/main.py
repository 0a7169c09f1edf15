"""The ``openldn`` command line: a thin shell over the Python API (typer + rich)."""

from __future__ import annotations

import json
import logging
import sys
import traceback
from pathlib import Path
from typing import Annotated, Any

import typer

import openldn
from openldn.exceptions import ConfigError, OpenLDNError
from openldn.i18n import (
    LANGUAGES,
    _,
    format_decimal,
    format_integer,
    ngettext,
    normalize_language,
    set_language,
    system_language,
    use_language,
)

__all__ = ["app", "main"]

# Help texts are read when the commands are declared, at import: they are written in the system locale's language
# (the context is restored at the end of this module).
_declaring = use_language(system_language())
_declaring.__enter__()

Lang = Annotated[str | None, typer.Option(
    "--lang", help=_("Language of the report, workbook, maps and messages: ar, en, es, fr, ru or zh (default: the run "
                     "file's outputs.language, else the system locale)."))]

app = typer.Typer(
    name="openldn",
    help=_("Compute, map and report the UNCCD land degradation indicators (SDG 15.3.1, SO1-SO3) offline."),
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

_state: dict[str, Any] = {"debug": False}


def _version(value: bool) -> None:
    if value:
        typer.echo(f"openldn {openldn.__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help=_("Print the version and exit."))
    ] = False,
    debug: Annotated[bool, typer.Option("--debug", help=_("Show full tracebacks on errors."))] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help=_("Only print errors."))] = False,
    lang: Lang = None,
    progress: Annotated[str, typer.Option(
        "--progress", envvar="OPENLDN_PROGRESS",
        help=_("Run progress: 'auto' (a bar on a terminal, lines otherwise) or 'json' (one JSON object a line on "
               "stderr: stage, done, total, message; for programs such as the QGIS plugin)."))] = "auto",
) -> None:
    """openldn command line."""
    if progress not in ("auto", "json"):
        raise typer.BadParameter(_("--progress must be 'auto' or 'json', not %(value)r.") % {"value": progress})
    _state["debug"] = debug
    _state["quiet"] = quiet
    _state["progress"] = progress
    set_language(system_language())  # the messages' language until a --lang or a run file says otherwise
    _state["lang"] = _language(lang)  # openldn --lang fr <command>: every command, as a command's own --lang
    logging.basicConfig(level=logging.WARNING if quiet else logging.INFO, format="%(message)s")


Workers = Annotated[int | None, typer.Option("--workers", min=1, help=_("Run on a local Dask cluster of N processes."))]
Scheduler = Annotated[
    str | None, typer.Option("--scheduler", help=_("Run on an existing Dask cluster, e.g. tcp://host:8786."))
]
ChunkSize = Annotated[int | None, typer.Option("--chunk-size", min=64, help=_("Chunk edge in pixels (default: auto)."))]
Force = Annotated[bool, typer.Option("--force", help=_("Recompute even if the run is complete."))]
Out = Annotated[Path, typer.Option("--out", "-o", help=_("Output folder."))]
Strict = Annotated[bool, typer.Option("--strict", help=_("Treat warnings about the inputs as errors."))]


def _language(lang: str | None) -> str | None:
    """Check ``--lang`` and make it the language of the messages; None when not given."""
    if lang is None:
        return None
    code = normalize_language(lang)
    if code is None:
        raise ConfigError(_("--lang %(value)r: unknown language; use one of %(languages)s.")
                          % {"value": lang, "languages": ", ".join(LANGUAGES)})
    set_language(code)
    return code


def _run_with_progress(assessment: Any, out: Path, **kw: Any) -> Any:
    from rich.console import Console
    from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    from openldn.pipeline import run_assessment

    console = Console(stderr=True)
    tasks: dict[str, Any] = {}
    with Progress(
        SpinnerColumn(), TextColumn("[bold]{task.description:<14}"), BarColumn(), TextColumn("{task.fields[msg]}"),
        TimeElapsedColumn(), console=console,
        disable=bool(_state.get("quiet")) or not console.is_terminal or _state.get("progress") == "json",
    ) as bar:

        def progress(stage: str, done: int, total: int, message: str = "") -> None:
            if _state.get("progress") == "json":
                print(json.dumps({"stage": stage, "done": done, "total": total, "message": message}),
                      file=sys.stderr, flush=True)
                return
            if stage not in tasks:
                tasks[stage] = bar.add_task(stage, total=max(total, 1), msg="")
            bar.update(tasks[stage], completed=done, total=max(total, 1), msg=message[:60])
            if not console.is_terminal and not _state.get("quiet") and message:
                console.print(f"{stage}: {message}")

        result = run_assessment(assessment, out, progress=progress, **kw)
    return result


def _summary(result: Any) -> None:
    if _state.get("quiet"):
        return
    from rich.console import Console

    console = Console()
    if result.noop:
        console.print(_("Run already complete in %(folder)s (use --force to recompute).") % {"folder": result.out_dir},
                      markup=False, highlight=False)
        return
    console.print("[green]" + _("Done in %(seconds)s s. Maps: %(maps)s; tables: %(tables)s; folder: %(folder)s") % {
        "seconds": format_decimal(result.timings.get("total", 0), 1), "maps": format_integer(len(result.outputs)),
        "tables": format_integer(len(result.tables)), "folder": result.out_dir} + "[/green]", highlight=False)
    stages = {k: v for k, v in result.timings.items() if k != "total"}
    if stages:
        console.print("  " + ", ".join(_("%(stage)s %(seconds)s s") % {"stage": k, "seconds": format_decimal(v, 1)}
                                        for k, v in stages.items()), markup=False, highlight=False)
    report = result.out_dir / "report" / "report.html"
    if report.exists():
        console.print("  " + _("report: %(path)s") % {"path": report}, markup=False, highlight=False)
    for workbook in sorted((result.out_dir / "report").glob("*.xlsx")):
        console.print("  " + _("workbook: %(path)s") % {"path": workbook}, markup=False, highlight=False)
    from openldn.cli.summary import headline_lines

    for line in headline_lines(result.out_dir):
        console.print(line, markup=False, highlight=False)


@app.command(help=_("Run an assessment: every indicator whose inputs are given, then the tables, maps and report."))
def run(
    assessment: Annotated[Path, typer.Argument(help=_("Run file (YAML)."))],
    out: Out = Path("openldn-output"),
    workers: Workers = None,
    scheduler: Scheduler = None,
    chunk_size: ChunkSize = None,
    force: Force = False,
    strict: Strict = False,
    lang: Lang = None,
) -> None:
    """Run an assessment: every indicator whose inputs are given, then the tables, maps and report."""
    a = _load_with_language(assessment, lang)
    result = _run_with_progress(a, out, workers=workers, scheduler=scheduler, chunk_size=chunk_size,
                                force=force, strict=strict)
    _summary(result)


def _load_with_language(run_file: Path, lang: str | None) -> Any:
    """Read a run file and settle the language: ``--lang``, else the run file's ``outputs.language``, else the
    system locale's; the assessment returned carries it in ``outputs.language``.
    """
    from openldn.config import load_assessment
    from openldn.i18n import current_language
    from openldn.pipeline.run import _with_language

    code = _language(lang) or _state.get("lang")
    a = load_assessment(run_file)
    if code is None and a.outputs.language is not None:
        set_language(a.outputs.language)
    return _with_language(a, current_language()) if a.outputs.language != current_language() else a


@app.command(help=_("Generate the built-in synthetic demo area and run the whole assessment on it."))
def demo(
    out: Out = Path("openldn-demo"),
    size: Annotated[int, typer.Option("--size", min=120, help=_("Demo grid size in pixels (square)."))] = 300,
    workers: Workers = None,
    scheduler: Scheduler = None,
    chunk_size: ChunkSize = None,
    force: Force = False,
    lang: Lang = None,
) -> None:
    """Generate the built-in synthetic demo area and run the whole assessment on it."""
    from openldn.datasets import make_demo

    _language(lang)
    out = out.expanduser().resolve()
    run_file = make_demo(out / "inputs", size=size)
    if not _state.get("quiet"):
        typer.echo(_("Demo inputs written to %(folder)s") % {"folder": run_file.parent})
    a = _load_with_language(run_file, lang)
    result = _run_with_progress(a, out, workers=workers, scheduler=scheduler, chunk_size=chunk_size,
                                force=force)
    _summary(result)


@app.command(help=_("Monthly drought monitoring: SPI at 1-24 months, alert levels, people exposed, bulletin (docs/monitoring.md)."))
def monitor(
    assessment: Annotated[Path, typer.Argument(help=_("Run file (YAML) with monthly precipitation."))],
    month: Annotated[str, typer.Option("--month", help=_("Bulletin month, YYYY-MM."))],
    out: Out = Path("openldn-monitor"),
    reference: Annotated[str, typer.Option("--reference", help=_("Reference years of the fits."))] = "1991-2020",
    index: Annotated[str, typer.Option("--index", help=_("spi, or spei (needs inputs.pet)."))] = "spi",
    distribution: Annotated[str | None, typer.Option("--distribution", help=_("gamma, pearson3, loglogistic."))] = None,
    rules: Annotated[Path | None, typer.Option("--rules", help=_("Alert rules file (YAML)."))] = None,
    provisional: Annotated[list[str] | None, typer.Option("--provisional", help=_("A provisional month, YYYY-MM."))] = None,
    history: Annotated[int, typer.Option("--history", min=1, help=_("Months in the charts."))] = 24,
    language: Annotated[str | None, typer.Option("--language", help=_(
        "Bulletin language: en, es, fr (default: the command line's language when it is one of them, else en)."))] = None,
) -> None:
    """Monthly drought monitoring: SPI at 1-24 months, alert levels, people exposed, bulletin (docs/monitoring.md)."""
    from openldn.monitoring.monitor import monitor_command

    if language is None:  # the bulletin's words have their own translations (data/drought/bulletin_text.yaml)
        from openldn.i18n import current_language

        language = current_language() if current_language() in ("en", "es", "fr") else "en"
    res = monitor_command(assessment, month, out, reference=reference, index=index, distribution=distribution,
                          rules=rules, provisional=provisional or (), history=history, language=language)
    if not _state.get("quiet"):
        typer.echo("\n".join(res.text) + f"\nBulletin: {res.files['html']}")


@app.command(help=_("Check a run file and the inputs it names (their values too), without computing anything."))
def validate(assessment: Annotated[Path, typer.Argument(help=_("Run file (YAML)."))], strict: Strict = False,
             lang: Lang = None) -> None:
    """Check a run file and the inputs it names (their values too), without computing anything."""
    import warnings

    from openldn.exceptions import OpenLDNWarning
    from openldn.pipeline.run import _prepare, plan_years

    a = _load_with_language(assessment, lang)
    with warnings.catch_warnings(record=True) as caught:  # printed below, once each
        warnings.simplefilter("always", OpenLDNWarning)
        prep = _prepare(a, None, strict=strict)
    gb = prep["geobox"]
    messages = [finding.message for finding in prep["findings"]]
    # warnings raised while opening the inputs (partial years of sub-annual composites, a scale read from the file...)
    messages += [str(w.message) for w in caught if issubclass(w.category, OpenLDNWarning)]
    for message in dict.fromkeys(messages):
        typer.echo(_("warning: %(message)s") % {"message": message}, err=True)
    choices = plan_years(a, prep["raw"])
    for choice in choices:
        if choice.substituted:
            typer.echo(_("warning: %(message)s") % {"message": choice.note()}, err=True)
    typer.echo(_("%(file)s: valid. Preset %(preset)s; periods %(periods)s; inputs %(inputs)s; grid %(width)s x "
                 "%(height)s (%(crs)s).") % {
        "file": assessment, "preset": a.preset, "periods": ", ".join(p.label for p in a.periods),
        "inputs": ", ".join(a.inputs), "width": gb.shape[1], "height": gb.shape[0], "crs": _crs_label(gb.crs)})
    for line in _validate_summary(a, prep["raw"]):
        typer.echo("  " + line)


def _crs_label(crs: Any) -> str:
    """``EPSG:4326`` when the CRS has an EPSG code, else its name."""
    epsg = getattr(crs, "epsg", None)
    if epsg:
        return f"EPSG:{epsg}"
    return str(getattr(crs, "name", None) or crs)


def _years_text(years: list[int]) -> str:
    """``2000-2023 (24 years)`` for a run of consecutive years, else the years themselves."""
    if not years:
        return "-"
    if len(years) > 2 and years == list(range(years[0], years[-1] + 1)):
        return ngettext("%(first)s-%(last)s (%(count)s year)", "%(first)s-%(last)s (%(count)s years)", len(years)) % {
            "first": years[0], "last": years[-1], "count": len(years)}
    return ", ".join(str(y) for y in years)


def _validate_summary(a: Any, raw: dict[str, Any]) -> list[str]:
    """Years available per input, and the years each input serves in the run (the periods' windows)."""
    import pandas as pd

    lines = []
    for name in a.inputs:  # the run file's order, as in the first line
        da = raw.get(name)
        if da is None:
            continue
        if "time" in getattr(da, "dims", ()):
            years = sorted({int(y) for y in pd.DatetimeIndex(da["time"].values).year})
            lines.append(_("%(input)s: years %(years)s") % {"input": name, "years": _years_text(years)})
        else:
            lines.append(_("%(input)s: one layer, no time axis") % {"input": name})
    for period in a.periods:
        text = _("period %(period)s") % {"period": period.label}
        if "ndvi" in a.inputs:
            from openldn.productivity.stage import period_windows

            w = period_windows(period, a.productivity)
            text += "; " + _("productivity trend %(trend)s, state %(state_baseline)s vs %(state_recent)s, "
                             "performance %(performance)s") % {
                "trend": w.trend.label, "state_baseline": w.state_baseline.label,
                "state_recent": w.state_recent.label, "performance": w.performance.label}
        if "land_cover" in a.inputs:
            from openldn.land_cover.stage import period_years

            first, last = period_years(period, a.baseline_period, a.land_cover.reporting_lc_start)
            text += "; " + _("land cover %(first)s -> %(last)s") % {"first": first, "last": last}
        lines.append(text)
    return lines


@app.command(help=_("Download the catalogue datasets an assessment needs into the local cache."))
def fetch(
    assessment: Annotated[Path, typer.Argument(help=_("Run file (YAML) naming catalogue datasets."))],
    cache_dir: Annotated[Path | None, typer.Option("--cache-dir", help=_("Cache folder."))] = None,
    offline: Annotated[bool, typer.Option("--offline", help=_("Use only the cache."))] = False,
    catalog: Annotated[Path | None, typer.Option("--catalog", help=_("Extra catalogue file (YAML)."))] = None,
    force: Force = False,
    dry_run: Annotated[bool, typer.Option("--dry-run", help=_("Search and report, download nothing."))] = False,
) -> None:
    """Download the catalogue datasets an assessment needs into the local cache."""
    try:
        from openldn.catalog.cli import fetch_command
    except ModuleNotFoundError as err:
        raise OpenLDNError(_("openldn fetch needs the catalog extra (%(module)s is not installed); install it with: "
                             "pip install 'openldn[catalog]'") % {"module": err.name}) from err

    code = fetch_command(assessment, cache_dir, offline, catalog=catalog, force=force, dry_run=dry_run)
    raise typer.Exit(code)


@app.command(name="catalog", help=_("List the datasets of the catalogue (defaults plus an optional file)."))
def catalog_list(
    catalog: Annotated[Path | None, typer.Option("--catalog", help=_("Extra catalogue file (YAML)."))] = None,
) -> None:
    """List the datasets of the catalogue (defaults plus an optional file)."""
    from openldn.catalog.cli import catalog_command

    raise typer.Exit(catalog_command(catalog))


@app.command(help=_("Start the local web platform (prints the address with its access token)."))
def serve(
    host: Annotated[str | None, typer.Option("--host", help=_("Address to bind (default 127.0.0.1)."))] = None,
    port: Annotated[int | None, typer.Option("--port", help=_("Port (default 8000)."))] = None,
    no_token: Annotated[bool, typer.Option(
        "--no-token", help=_("Run without an access token (refused unless bound to a loopback address)."))] = False,
) -> None:
    """Start the local web platform (prints the address with its access token)."""
    try:
        from openldn.web import serve as _serve
    except ImportError as err:
        raise OpenLDNError(_("The web platform needs its extra: pip install 'openldn[web]' (%(module)s is missing).")
                           % {"module": err.name}) from err
    _serve(host=host, port=port, auth=False if no_token else None)


@app.command(help=_("Start an assessment: write a commented run file for an area (a file, or a country) and its inputs."))
def init(
    run_file: Annotated[Path, typer.Argument(help=_("Run file (YAML) to write."))],
    country: Annotated[str | None, typer.Option(
        "--country", help=_("Area of interest: a country by name or ISO 3166 code (Natural Earth 1:10m)."))] = None,
    aoi: Annotated[Path | None, typer.Option("--aoi", help=_("Area of interest: a vector file."))] = None,
    zones: Annotated[Path | None, typer.Option("--zones", help=_("Admin units (vector file), optional."))] = None,
    id_field: Annotated[str, typer.Option("--id-field", help=_("Admin units: identifier field."))] = "id",
    name_field: Annotated[str, typer.Option("--name-field", help=_("Admin units: name field."))] = "name",
    inputs: Annotated[list[str] | None, typer.Option(
        "--input", "-i", help=_("An input: NAME=PATH (local file) or NAME=dataset:ID (catalogue); repeat."))] = None,
    legend: Annotated[str | None, typer.Option("--legend", help=_("Legend of a local land-cover file."))] = None,
    name: Annotated[str | None, typer.Option("--name", help=_("Assessment name."))] = None,
    force: Annotated[bool, typer.Option("--force", help=_("Overwrite an existing run file."))] = False,
) -> None:
    """Start an assessment: write a commented run file for an area (a file, or a country) and its inputs."""
    from openldn.cli.init import init_run_file
    from openldn.exceptions import ConfigError

    given: dict[str, str] = {}
    for item in inputs or []:
        key, sep, value = item.partition("=")
        if not sep or not key.strip() or not value.strip():
            raise ConfigError(_("--input %(item)r: write NAME=PATH or NAME=dataset:ID, e.g. --input ndvi=ndvi.tif.")
                              % {"item": item})
        given[key.strip()] = value.strip()
    path = init_run_file(run_file, aoi=aoi, country=country, zones=zones, id_field=id_field, name_field=name_field,
                         inputs=given, name=name, legend=legend, force=force)
    if not _state.get("quiet"):
        if any(v.startswith("dataset:") for v in given.values()):
            text = _("Wrote %(path)s. Next: `openldn validate %(path)s`, after `openldn fetch`, then `openldn run "
                     "%(path)s`.")
        else:
            text = _("Wrote %(path)s. Next: `openldn validate %(path)s`, then `openldn run %(path)s`.")
        typer.echo(text % {"path": path})


def _add_accuracy() -> None:
    from openldn.accuracy.cli import app as accuracy_app

    app.add_typer(accuracy_app, name="accuracy")


_add_accuracy()
_declaring.__exit__(None, None, None)


def main(argv: list[str] | None = None) -> int:
    """Entry point: run the CLI, turning user errors into one-line messages and exit code 2."""
    try:
        code = app(args=argv, standalone_mode=False)
        if isinstance(code, int) and code:  # typer.Exit(n) comes back as a return value without standalone mode
            return code
    except OpenLDNError as err:
        if _state.get("debug"):
            traceback.print_exc()
        typer.secho(_("Error: %(message)s") % {"message": err}, fg=typer.colors.RED, err=True)
        return 2
    except KeyboardInterrupt:
        typer.secho(_("Interrupted; run the same command again to resume."), fg=typer.colors.YELLOW, err=True)
        return 130
    except typer.Exit as exc:
        return int(exc.exit_code or 0)
    except SystemExit as exc:
        return int(exc.code or 0) if isinstance(exc.code, int) else 1
    except Exception as err:  # a bug, not a user mistake: say so in one line, details with --debug
        if hasattr(err, "show") and hasattr(err, "exit_code"):  # usage errors of the command-line parser
            err.show()
            return int(err.exit_code)
        if type(err).__name__ == "Abort":
            return 1
        if _state.get("debug"):
            traceback.print_exc()
        typer.secho(_("Internal error: %(kind)s: %(message)s (run with --debug for the traceback and report it)")
                    % {"kind": type(err).__name__, "message": err}, fg=typer.colors.RED, err=True)
        return 3
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
