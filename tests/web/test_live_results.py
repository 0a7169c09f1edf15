"""Partial results of a run in progress: after each stage its tables and maps are readable (marked staged / in
progress), the final result is still published whole at the end, and a failed run leaves nothing partial.

Expected tables come from the fake pipeline's own writer (``write_outputs``) and from the published files of the
same run, never from the web layer under test.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from _web_fake_pipeline import STAGE_LAYERS, STAGE_TABLES, STEPS, write_outputs
from test_browser import _wait_until, live_server  # noqa: F401  (fixture)
from test_browser_gis import _no_overflow, _shot, _watch, small_page  # noqa: F401  (fixture)

from openldn.web.progress import finished_stage_files


def _project(client: Any) -> dict[str, Any]:
    project = client.post("/api/projects", json={"name": "live", "demo": True}).json()
    assert "id" in project, project
    return project


def _expected_rows(tmp_path: Path, name: str) -> list[dict[str, Any]]:
    """The rows of a table as the fake pipeline writes it, read back with pandas (not by the web layer)."""
    ref = tmp_path / "reference"
    if not (ref / "tables").is_dir():
        write_outputs(ref)
    df = pd.read_csv(ref / "tables" / f"{name}.csv", dtype={"zone_id": str, "period": str}, keep_default_na=False,
                     na_values=[""])
    return json.loads(df.to_json(orient="records"))


def test_finished_stage_files_reads_the_checkpoint_state(tmp_path: Path) -> None:
    """Stages marked done list their maps (staging paths) and tables (tables/<key>.csv); the others nothing."""
    state = {"stages": {
        "land_cover": {"done": True, "outputs": [{"key": "lc", "path": "maps/lc.tif"}], "tables": ["lc_area"]},
        "productivity": {"done": False, "outputs": [{"key": "lpd", "path": "maps/lpd.tif"}], "tables": ["lpd"]},
        "reporting": {"done": True, "outputs": [], "tables": []},
    }}
    (tmp_path / ".openldn").mkdir()
    (tmp_path / ".openldn" / "state.json").write_text(json.dumps(state))
    assert finished_stage_files(tmp_path) == {
        "land_cover": {"maps": ["maps/lc.tif"], "tables": ["tables/lc_area.csv"]},
        "reporting": {"maps": [], "tables": []},
    }
    (tmp_path / ".openldn" / "state.json").write_text("{not json")
    assert finished_stage_files(tmp_path) == {}
    assert finished_stage_files(tmp_path / "missing") == {}


def test_tables_of_finished_stages_are_readable_while_the_run_goes_on(client, wait_for, monkeypatch,
                                                                      tmp_path: Path) -> None:
    """While running: only the tables of finished stages, marked staged, their rows those the stage wrote; at the
    end: every table, published (not staged); the log names each finished stage's readable files."""
    monkeypatch.setenv("OPENLDN_FAKE_DELAY", "1.0")
    project = _project(client)
    run = client.post(f"/api/projects/{project['id']}/runs").json()
    seen: dict[str, set[str]] = {}  # stage running when a table list was read -> the tables listed
    deadline = time.monotonic() + 90
    rows_checked = False
    while True:
        state = client.get(f"/api/runs/{run['id']}").json()
        if state["status"] in ("succeeded", "failed", "cancelled", "interrupted"):
            break
        assert time.monotonic() < deadline, state
        listed = client.get(f"/api/runs/{run['id']}/tables")
        assert listed.status_code == 200, listed.text
        tables = listed.json()
        again = client.get(f"/api/runs/{run['id']}").json()
        if again["status"] == "running" and again["stage"] == state["stage"] and state["stage"]:
            if tables and not all(t["staged"] for t in tables):  # published in the last instant of the run
                assert not any(t["staged"] for t in tables) and len(tables) == 2, tables
                continue
            seen.setdefault(state["stage"], set()).update(t["name"] for t in tables)
            if any(t["name"] == "lpd_by_lc" for t in tables) and not rows_checked:
                data = client.get(f"/api/runs/{run['id']}/tables/lpd_by_lc").json()
                if data.get("staged"):  # (not published in between)
                    assert data["rows"] == _expected_rows(tmp_path, "lpd_by_lc")
                    rows_checked = True
        time.sleep(0.15)
    assert state["status"] == "succeeded", state
    assert rows_checked, f"no staged table was read while the run went on: {seen}"
    # a table shows only once its stage finished: never while its stage or an earlier one runs
    for stage, names in seen.items():
        finished_before = STEPS[: STEPS.index(stage)] if stage in STEPS else []
        allowed = {t for s in [*finished_before, stage] for t in STAGE_TABLES.get(s, [])}
        assert names <= allowed, (stage, names)
        for table_stage, keys in STAGE_TABLES.items():
            if table_stage in STEPS and STEPS.index(table_stage) > STEPS.index(stage):
                assert not set(keys) & names, (stage, names)
    # the published result: every table, not staged, the same rows
    final = client.get(f"/api/runs/{run['id']}/tables").json()
    assert {t["name"] for t in final} == {"lpd_by_lc", "drought_area"}
    assert not any(t["staged"] for t in final)
    published = client.get(f"/api/runs/{run['id']}/tables/drought_area").json()
    assert published["staged"] is False and published["rows"] == _expected_rows(tmp_path, "drought_area")
    log = client.get(f"/api/runs/{run['id']}/log").text
    assert "stage productivity: readable while the run goes on (in progress): maps/lpd_2000-2015.tif, " \
           "tables/lpd_by_lc.csv" in log, log
    assert "stage drought: readable while the run goes on (in progress): tables/drought_area.csv" in log


def test_staged_layers_and_tables_stay_inside_the_run_folder(client, wait_for, monkeypatch) -> None:
    """A staged table that is a link out of the run folder is refused (403), never read."""
    monkeypatch.setenv("OPENLDN_FAKE_DELAY", "30")
    project = _project(client)
    run = client.post(f"/api/projects/{project['id']}/runs").json()
    wait_for(client, run["id"], ("running",))
    root = Path(client.app.state.settings.root)
    row = client.app.state.db.get_run(run["id"])
    out_dir = root / row["out_dir"]
    outside = root.parent / "secret.csv"
    outside.write_text("zone_id,period,area_km2\nX,2000,1\n")
    staging = out_dir / ".openldn" / "staging" / "tables"
    staging.mkdir(parents=True, exist_ok=True)
    (staging / "planted.csv").symlink_to(outside)
    state = {"stages": {"planted": {"done": True, "outputs": [], "tables": ["planted"]}}, "finished": False}
    (out_dir / ".openldn" / "state.json").write_text(json.dumps(state))
    assert client.get(f"/api/runs/{run['id']}/tables").status_code == 403
    assert client.get(f"/api/runs/{run['id']}/tables/planted").status_code == 403
    client.post(f"/api/runs/{run['id']}/cancel")
    wait_for(client, run["id"], ("cancelled",))


def test_real_pipeline_writes_each_stage_tables_in_staging_when_it_finishes(demo_run_file: Path,
                                                                            tmp_path: Path) -> None:
    """The real pipeline: at each stage's end its tables are CSV files in the staging area (what the web app lists),
    equal to the published ones when they are not changed later; nothing is published before the end."""
    from openldn.pipeline import run_assessment

    out = tmp_path / "out"
    at_end: dict[str, dict[str, bytes]] = {}

    def progress(stage: str, done: int, total: int, message: str = "") -> None:
        if not message.startswith("done in"):  # the pipeline's own end of a stage (not a step inside it)
            return
        files = finished_stage_files(out).get(stage)
        assert files is not None, f"stage {stage} reported done before its checkpoint state"
        staging = out / ".openldn" / "staging"
        at_end[stage] = {t: (staging / t).read_bytes() for t in files["tables"]}
        assert not (out / "manifest.json").exists() and not (out / "tables").exists()  # nothing published yet

    run_assessment(demo_run_file, out, stages=["land_cover", "land_area", "reporting"], progress=progress)
    written = {t for tables in at_end.values() for t in tables}
    assert any(t.startswith("tables/") for t in written), at_end
    for stage, tables in at_end.items():
        for rel, data in tables.items():
            assert (out / rel).is_file(), f"{rel} of stage {stage} was not published"
            if stage != "reporting":
                later = [s for s in at_end if s != stage and rel in at_end[s]]
                if not later:
                    assert (out / rel).read_bytes() == data, rel
    assert not (out / ".openldn" / "staging").exists()


def test_real_pipeline_failure_leaves_no_partial_result(demo_run_file: Path, tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """A run that fails after stages wrote their tables leaves neither a staging area nor a published table."""
    from dataclasses import replace

    from openldn.exceptions import OpenLDNError
    from openldn.pipeline import run as run_module
    from openldn.pipeline import run_assessment

    real = run_module.runnable_stages

    def failing(a: Any, only: Any = None) -> list[Any]:
        def boom(ctx: Any) -> None:
            raise OpenLDNError("planted failure in the reporting stage")

        return [replace(s, run=boom) if s.name == "reporting" else s for s in real(a, only)]

    monkeypatch.setattr(run_module, "runnable_stages", failing)
    out = tmp_path / "existing"
    out.mkdir()
    staged_seen: list[str] = []

    def progress(stage: str, done: int, total: int, message: str = "") -> None:
        staging = out / ".openldn" / "staging" / "tables"
        if staging.is_dir():
            staged_seen.extend(p.name for p in staging.glob("*.csv"))

    with pytest.raises(OpenLDNError, match="planted failure"):
        run_assessment(demo_run_file, out, stages=["land_cover", "land_area", "reporting"], progress=progress)
    assert staged_seen, "no stage table was staged before the failure"
    assert not (out / ".openldn").exists()
    assert not (out / "tables").exists() and not (out / "manifest.json").exists()


def test_fake_pipeline_constants_cover_the_flow() -> None:
    """The staged tables and layers of the fake run belong to stages it runs (guards the tests above)."""
    assert set(STAGE_TABLES) <= set(STEPS) and set(STAGE_LAYERS) <= set(STEPS)


@pytest.mark.browser
def test_browser__tables_and_layers_appear_as_stages_finish(small_page, live_server, fake_env, monkeypatch,  # noqa: F811
                                                            tmp_path: Path) -> None:
    """In the page: while the run goes on, the finished stages' tables fill the Tables panel and their maps the
    Layers panel, both marked 'in progress'; when it ends, the published result without the mark."""
    monkeypatch.setenv("OPENLDN_FAKE_DELAY", "2.0")
    base = live_server(pipeline="_web_fake_pipeline:run_assessment")
    import httpx

    assert httpx.Client(base_url=base, timeout=30).post("/api/projects", json={"name": "live", "demo": True}).status_code in (200, 201)
    page = small_page
    seen = _watch(page, base)
    page.goto(base + "/")
    page.wait_for_selector("body[data-ready='1']", timeout=20_000)
    page.click("#run-btn")
    deadline = time.monotonic() + 90
    live_table = False
    while page.get_attribute("#run-status", "data-status") != "succeeded":
        assert time.monotonic() < deadline, "the run did not finish"
        running = page.get_attribute("#run-status", "data-status") == "running"
        options = page.evaluate("[...document.querySelectorAll('#table-select option')].map((o) => o.value)")
        if running and "lpd_by_lc" in options and not live_table:
            assert "drought_area" not in options or page.get_attribute("body", "data-staged-tables") == "2"
            assert page.text_content("#tables-box .live-badge") == "in progress"
            assert page.text_content("#layers-box .live-badge") == "in progress"
            # the layer list is fetched on its own: under load it can follow the table list by a poll
            page.wait_for_selector("#layers .layer-toggle", timeout=10_000)
            page.wait_for_selector("#table-view table", timeout=10_000)
            live_table = True
            _no_overflow(page)
            _shot(page, tmp_path, "openldn-web-live-results.png")
        time.sleep(0.2)
    assert live_table, "no table showed before the run ended"
    _wait_until(page, "document.querySelectorAll('#table-select option').length === 2")
    _wait_until(page, "!document.querySelector('.live-badge')")
    assert page.get_attribute("body", "data-live") == ""
    _no_overflow(page)
    assert not seen["errors"], seen["errors"]
