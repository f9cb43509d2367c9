"""The book: pages and executed notebooks in sync, a clean table of contents, no error
outputs, the training page running under papermill on a stored run, and a build that leaves
an unchanged page's notebook as it was."""

import json
import re
from pathlib import Path

import jupytext
import pandas as pd
import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
BOOK = ROOT / "book"
PAGES = sorted(BOOK.glob("[0-9][0-9]_*.py"))


def cells(nb) -> list[tuple[str, str]]:
    return [(c.cell_type, c.source.strip()) for c in nb.cells
            if "injected-parameters" not in c.metadata.get("tags", [])]


def test_there_are_pages():
    assert len(PAGES) >= 9


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.stem)
def test_page_and_notebook_in_sync(page):
    notebook = page.with_suffix(".ipynb")
    assert notebook.is_file(), f"{notebook.name} missing: run `make book`"
    assert cells(jupytext.read(page)) == cells(jupytext.read(notebook)), (
        f"{page.name} and {notebook.name} differ: run `python book/build.py {page.name[:2]}`")


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.stem)
def test_executed_notebook_has_no_errors(page):
    nb = json.loads(page.with_suffix(".ipynb").read_text())
    code = [c for c in nb["cells"] if c["cell_type"] == "code"]
    assert code and all(c.get("execution_count") for c in code), "notebook not fully executed"
    for c in code:
        for out in c.get("outputs", []):
            assert out["output_type"] != "error", f"{page.name}: {out.get('ename')}: {out.get('evalue')}"
            assert "Traceback" not in "".join(out.get("text", "")), f"{page.name}: traceback in output"


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.stem)
def test_page_has_parameters_cell(page):
    nb = jupytext.read(page)
    assert any("parameters" in c.metadata.get("tags", []) for c in nb.cells)


def test_toc_lists_every_page_once():
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    files = [toc["root"]] + [c["file"] for part in toc["parts"] for c in part["chapters"]]
    assert len(files) == len(set(files))
    for f in files:
        assert any((ROOT / f).with_suffix(s).is_file() for s in (".md", ".ipynb")), f
    for page in PAGES:
        assert f"book/{page.stem}" in files, f"{page.stem} not in _toc.yml"
    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    assert config["execute"]["execute_notebooks"] == "off"


def test_training_page_shows_a_stored_run_under_papermill(tmp_path):
    """Page 05 reads a run of the committed sweep (it trains nothing): any network, arm and
    seed of the store can be chosen with papermill's parameters."""
    import papermill

    out = tmp_path / "training.ipynb"
    papermill.execute_notebook(
        str(BOOK / "05_training.ipynb"), str(out), kernel_name="ggcam", cwd=str(BOOK),
        parameters={"network": "resnet18", "variant": "standard", "seed": 1}, progress_bar=False)
    text = json.dumps(json.loads(out.read_text()))
    assert '"output_type": "error"' not in text
    assert "TrainConfig of resnet18__standard__s1" in text
    assert "ggcam rerun resnet18__standard__s1" in text


# ---- the build: a rebuild of an unchanged page leaves git clean ------------------------------


def _build_module():
    import importlib.util

    spec = importlib.util.spec_from_file_location("book_build", BOOK / "build.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_synced_notebooks_have_stable_cell_ids(tmp_path):
    build = _build_module()
    page = BOOK / "04_cam_layer.py"
    first, second = build.sync(page, tmp_path / "a.ipynb"), build.sync(page, tmp_path / "b.ipynb")
    assert first.read_bytes() == second.read_bytes()
    ids = [c["id"] for c in json.loads(first.read_text())["cells"]]
    assert len(set(ids)) == len(ids)


def test_rebuild_ignores_only_what_varies_by_design():
    import nbformat
    from nbformat.v4 import new_code_cell, new_notebook, new_output

    build = _build_module()
    rules = build.sanitizers()

    def executed(took: str, styler: str, shown: str, timing: str) -> nbformat.NotebookNode:
        nb = new_notebook(cells=[
            new_code_cell("x", outputs=[new_output("display_data", {"text/markdown": took}),
                                        new_output("execute_result", {"text/plain": styler},
                                                   execution_count=1)]),
            new_code_cell("y", outputs=[new_output("stream", name="stdout", text=shown)]),
            new_code_cell("z", metadata={"tags": ["nbval-ignore-output"]},
                          outputs=[new_output("stream", name="stdout", text=timing)])])
        nb.metadata["papermill"] = {"duration": float(len(took)), "input_path": "/a/book/x.ipynb"}
        for cell in nb.cells:
            cell.metadata["papermill"] = {"duration": 1.0, "end_time": took}
            cell.metadata["execution"] = {"iopub.status.idle": took}
        build.normalise(nb, BOOK / "04_cam_layer.py")
        return nb

    a = executed("This run took 12 s.", "<Styler at 0x7fba50eab4d0>", "AUC 0.704", "262")
    assert not any({"papermill", "execution"} & set(c.metadata) for c in a.cells)
    assert a.metadata["papermill"]["input_path"] == "book/04_cam_layer.ipynb"
    assert len({c.id for c in a.cells}) == 3
    b = executed("This run took 9 s.", "<Styler at 0x7ffa9d08d250>", "AUC 0.704", "140")
    assert build.comparable(a, rules) == build.comparable(b, rules)
    c = executed("This run took 9 s.", "<Styler at 0x7ffa9d08d250>", "AUC 0.705", "140")
    assert build.comparable(a, rules) != build.comparable(c, rules)


# ---- the book's house style: ggcam.viz.report -----------------------------------------------------


def test_number_formats_for_readers():
    from ggcam.viz.report import number

    cases = {1005.2: "1,005", 30.5: "30.5", 7.66: "7.66", 0.0076: "0.0076", 4.6e-6: "4.6e-6",
             3.0: "3", 0.0: "0", 999.6: "1,000", -2.5e-7: "-2.5e-7", 12345678: "12,345,678",
             1.25e17: "1.25e17", 2.5510204e21: "2.55e21", 9999999.0: "9,999,999"}
    for x, want in cases.items():
        assert number(x) == want, x
    assert number(float("nan")) == number(None) == "–"
    assert number(0.123456, digits=2) == "0.12"
    with pytest.raises(ValueError, match="real number"):
        number("3")


def test_styled_table_has_class_formats_and_no_index():
    import numpy as np
    import pandas as pd

    from ggcam.viz.report import TABLE_CLASS, styled

    df = pd.DataFrame({"model": ["a", "b"], "auc": [30.5, 0.71234], "n": [3, 2000],
                       "p": [0.0123, np.nan]})
    html = styled(df, formats={"p": "{:.2f}"}, caption="Table 1", labels={"auc": "AUC"}).to_html()
    assert f'class="{TABLE_CLASS}"' in html and "<caption>Table 1</caption>" in html
    assert ">30.5<" in html and ">0.712<" in html and ">2,000<" in html and ">0.01<" in html
    assert "30.500000" not in html and ">AUC<" in html and ">–<" in html
    assert "row_heading" not in html  # no index
    assert html.count(' num"') == 6  # numeric cells are right aligned (class num)
    again = styled(df, formats={"p": "{:.2f}"}, caption="Table 1", labels={"auc": "AUC"}).to_html()
    assert again == html  # a stable id: the executed notebook does not change between runs
    with pytest.raises(ValueError, match=r"no column\(s\) \['x'\]"):
        styled(df, formats={"x": "{:.1f}"})
    with pytest.raises(ValueError, match="DataFrame"):
        styled([1, 2])


def test_rerun_admonition_is_myst_with_the_command():
    from ggcam.viz.report import rerun_admonition

    md = rerun_admonition("06_classification", {"profile": "cpu", "seed": 0, "lr": 1e-3,
                                                "note": "two words"}, 12.4)
    assert md.startswith(":::{admonition} Rerun this page\n:class: tip\n")
    assert md.rstrip().endswith(":::") and "This run took 12 s." in md
    assert ".venv/bin/papermill book/06_classification.ipynb" in md
    assert "-p profile cpu" in md and "-p seed 0" in md and "-p lr 0.001" in md
    assert "-p note 'two words'" in md and "python book/build.py 06" in md
    assert "took" not in rerun_admonition("06_classification", {}, None)
    with pytest.raises(ValueError, match="file stem"):
        rerun_admonition("classification", {}, 1.0)
    with pytest.raises(ValueError, match="identifiers"):
        rerun_admonition("06_classification", {"a-b": 1}, 1.0)
    with pytest.raises(ValueError, match="runtime_s"):
        rerun_admonition("06_classification", {}, -1)


# ---- benchmark figures as data: benchmarks/results.json ------------------------------------


def test_recorded_benchmark_figures_follow_the_format():
    from ggcam.analysis import bench as bench_results

    data = bench_results.load(ROOT / "benchmarks" / "results.json")
    names = {e["benchmark"] for e in data["results"]}
    assert {"heatmap", "cam_head", "data", "train_step"} <= names
    for entry in data["results"]:
        frame = bench_results.frame(entry)
        assert list(frame.columns) == entry["columns"] and len(frame) > 0
        assert entry["source"] and entry["date"] and entry["commit"]
    heat = bench_results.frame(bench_results.entries(data, "heatmap")[0]).set_index("resample")
    assert heat.loc["area", "speed-up (×)"] >= 100  # the benchmark's target
    entry = bench_results.entries(data, "heatmap")[0]
    assert bench_results.provenance(data, entry) == (
        f"AMD EPYC, 2 cores, no GPU; {entry['date']}, "
        f"commit {bench_results.reader_text(entry['commit'])}")
    machines = bench_results.machines_frame(data)
    assert list(machines.columns) == ["machine", "cpu", "cores", "gpu", "torch", "note"]
    assert entry["machine"] in set(machines["machine"])


def test_bench_tables_fit_the_page_and_read_without_tracker_numbers():
    import pandas as pd

    from ggcam.analysis import bench as br

    wide = pd.DataFrame({"network": ["a"], "batch": [8], **{f"m{k} (s)": [1.5] for k in range(8)}})
    parts = br.split_wide(wide)
    assert [list(p.columns) for p in parts] == [
        ["network", "batch", "m0 (s)", "m1 (s)", "m2 (s)", "m3 (s)"],
        ["network", "batch", "m4 (s)", "m5 (s)", "m6 (s)", "m7 (s)"]]
    assert br.split_wide(wide.iloc[:, :7])[0].equals(wide.iloc[:, :7])  # fits: one part
    assert br.reader_text("c51fbc4+dirty") == "c51fbc4 (with local changes)"
    assert br.reader_text("plain text (no change)") == "plain text (no change)"


def test_bench_results_check_and_merge():
    from ggcam.analysis import bench as br

    machine = {"id": br.machine_id("AMD EPYC", 2, "none"), "cpu": "AMD EPYC", "cores": 2,
               "gpu": "none", "torch": "2.14.1"}
    assert machine["id"] == "amd-epyc-2-cores"
    assert br.machine_id("Xeon", 16, "NVIDIA H200") == "xeon-16-cores-nvidia-h200"
    entry = {"benchmark": "b", "table": "", "title": "B", "machine": machine["id"],
             "date": "2026-01-01", "commit": "abc", "setup": "", "columns": ["x", "t (s)"],
             "rows": [{"x": "a", "t (s)": 1.0}], "summary": "", "source": "s"}
    data = br.merge(br.empty(), machine, [entry])
    newer = dict(entry, rows=[{"x": "a", "t (s)": 0.5}], date="2026-02-01")
    other = dict(entry, table="second")
    data = br.merge(data, machine, [newer, other])
    assert [(e["table"], e["date"]) for e in data["results"]] == [("", "2026-02-01"),
                                                                   ("second", "2026-01-01")]
    with pytest.raises(ValueError, match="format must be"):
        br.check({"format": "other"})
    with pytest.raises(ValueError, match="not in 'machines'"):
        br.check(dict(data, machines={}))
    with pytest.raises(ValueError, match=r"row fields \['y'\]"):
        br.check(dict(data, results=[dict(entry, rows=[{"y": 1}])]))
    with pytest.raises(ValueError, match="no results for benchmark 'zz'"):
        br.entries(data, "zz")


def test_run_all_records_tables_and_replaces_them(tmp_path):
    import importlib.util

    spec = importlib.util.spec_from_file_location("run_all", ROOT / "benchmarks" / "run_all.py")
    run_all = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(run_all)
    (tmp_path / "bench_fast.py").write_text(
        "def main():\n"
        "    print('## Fast')\n"
        "    return [{'table': '', 'title': 'Fast', 'setup': 'nothing', 'columns': ['n', 'ms'],\n"
        "             'rows': [{'n': 1, 'ms': 0.5}], 'summary': ''}]\n")
    (tmp_path / "bench_broken.py").write_text("def main():\n    raise RuntimeError('boom')\n")
    results = tmp_path / "results.json"
    assert run_all.main(["fast"], results=results, folder=tmp_path) == 0
    assert run_all.main(["fast"], results=results, folder=tmp_path) == 0  # replaced, not added
    data = json.loads(results.read_text())
    (entry,) = data["results"]
    assert entry["benchmark"] == "fast" and entry["rows"] == [{"n": 1, "ms": 0.5}]
    assert entry["source"] == "benchmarks/bench_fast.py" and entry["machine"] in data["machines"]
    assert run_all.main(["broken"], results=results, folder=tmp_path) == 1
    assert len(json.loads(results.read_text())["results"]) == 1
    assert run_all.main(["--no-record", "fast"], results=tmp_path / "none.json", folder=tmp_path) == 0
    assert not (tmp_path / "none.json").exists()


# ---- configuration: bibliography, maths, reader features -------------------------------------


def test_config_bibliography_maths_and_buttons():
    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    sphinx = config["sphinx"]["config"]
    assert sphinx["html_math_renderer"] == "mathtext"  # no MathJax: maths drawn at build time
    assert sphinx["nb_render_markdown_format"] == "myst"
    assert sphinx["html_theme_options"]["navbar_persistent"] == []  # one search field
    assert all((ROOT / path / f"{name}.py").is_file()
               for name, path in config["sphinx"]["local_extensions"].items())
    # No button may point at a placeholder: without a public repository there are none.
    repo = (config.get("repository") or {}).get("url", "")
    buttons = (config["html"]["use_repository_button"], config["html"]["use_issues_button"],
               config["launch_buttons"]["binderhub_url"], config["launch_buttons"]["colab_url"])
    assert not any(buttons) if not repo else "example" not in repo and "ggcam-developers" not in repo
    assert config["sphinx"]["config"]["html_context"]["default_mode"] == "light"
    css = (ROOT / config["sphinx"]["config"]["html_static_path"][0] / "ggcam.css").read_text()
    assert re.search(r"\.theme-switch-button\s*\{\s*display:\s*none", css)  # light only: no switch
    assert not (ROOT / "_static").exists()  # one stylesheet: a root _static/ggcam.css would win
    (bib,) = config["bibtex_bibfiles"]
    text = (ROOT / bib).read_text()
    entries = re.findall(r"@\w+\{([^,]+),(.*?)\n\}", text, re.S)
    keys = {k for k, _ in entries}
    assert {"zhu2022ggcam", "karargyris2021egdcxr", "johnson2019mimiccxr", "hand2001auc",
            "welch1951anova", "holm1979", "efron1993bootstrap", "bylinskii2019saliency",
            "zhou2016cam", "selvaraju2017gradcam", "draelos2020hirescam", "adebayo2018sanity",
            "rong2022road", "kendall2018multitask", "akiba2019optuna"} <= keys
    for key, body in entries:
        assert re.search(r"\b(doi|url)\s*=", body), f"{key} has neither a DOI nor a URL"
    assert "{bibliography}" in (BOOK / "references.md").read_text()
    assert "{nb-exec-table}" in (BOOK / "execution.md").read_text()


# ---- what the results pages show: ggcam.analysis.summary and ggcam.viz.figures ------------------


def _synthetic_store(tmp_path, seeds=tuple(range(6)), n=30, profile="cpu"):
    """A store of ``profile`` with runs.csv and predictions only: standard, ggcam-warm and
    ggcam-shuffled on ResNet18, ggcam-warm better by construction."""
    import numpy as np
    import pandas as pd

    from ggcam.experiment import ResultsStore, RunRecord

    store = ResultsStore(tmp_path / profile)
    rng = np.random.default_rng(0)
    labels = np.repeat(np.arange(3), n // 3)
    rows = []
    for variant, signal in (("standard", 0.5), ("ggcam-warm", 2.0), ("ggcam-shuffled", 0.5)):
        for s in seeds:
            logits = rng.normal(size=(n, 3)) + signal * np.eye(3)[labels]
            rid = f"resnet18__{variant}__s{s}"
            (store.path / "predictions").mkdir(parents=True, exist_ok=True)
            pd.DataFrame({"dicom_id": [f"img{i}" for i in range(n)], "label": labels,
                          **{f"logit_{k}": logits[:, k] for k in range(3)}}).to_csv(
                store.path / "predictions" / f"{rid}.csv", index=False)
            row = dict.fromkeys(RunRecord.columns())
            row.update(profile=profile, network="resnet18", variant=variant, seed=s, run_id=rid,
                       status="ok", flags="", message="", learned=True, single_class=False,
                       sigma_frozen=False, sigmoid_saturated=False, optimizer_overflow=False,
                       auc_ci_covers_chance=False, auc_ovo=0.6 + 0.1 * signal + 0.01 * s,
                       pointing=0.5 + 0.05 * signal + 0.01 * s, cc=0.1 * signal + 0.02 * s,
                       pointing_chance=0.2, data_origin="phantom", commit="abc", device="cpu", date="2026-01-01",
                       threads=1)
            rows.append(row)
    pd.DataFrame(rows, columns=RunRecord.columns()).to_csv(store.path / "runs.csv", index=False)
    return store


def test_summary_of_an_empty_store_says_what_is_missing(tmp_path):
    from ggcam.analysis import summary
    from ggcam.experiment import get_profile, run_specs

    store = summary.open_results("cpu", tmp_path)  # no results/cpu/runs.csv yet
    assert summary.runs_of(store).empty
    facts = summary.progress_facts(store)
    assert facts["done"] == 0 and facts["planned"] == len(run_specs(get_profile("cpu")))
    assert facts["sentence"].startswith(f"0 of {facts['planned']} runs")
    # The primary comparison counts its base point only; the dose points are counted apart.
    specs = run_specs(get_profile("cpu"))
    base = sum(s.is_base and s.variant in get_profile("cpu").primary for s in specs)
    dose = sum(not s.is_base for s in specs)
    assert f"0 of {base} of the primary comparison, 0 of {dose} at the dose–response points." in facts["sentence"]
    points = summary.progress_table(store).set_index(["variant", "point"])
    assert points.loc[("standard", "200 training images"), "tier"] == "dose"
    assert points.loc[("ggcam-oracle", "base"), "tier"] == "control"
    paired = summary.paired_table(store, n_boot=10)
    assert paired.empty and "usable" in paired
    table = summary.answer(store, paired)
    assert set(table["paired ΔAUC [95% CI]"]) == {"not run yet"}
    assert "no paired seeds" in summary.answer_markdown(store, paired)
    assert "No finished run" in summary.provenance_markdown(store)
    for frame in (summary.arm_status(summary.runs_of(store)), summary.run_table(store),
                  summary.localisation_table(summary.runs_of(store)),
                  summary.eq12_table(summary.runs_of(store)), summary.learning_target_table(store),
                  summary.pointing_table(summary.runs_of(store)),
                  summary.flags_table(summary.runs_of(store)),
                  summary.omega_histograms(store, [0.0, 1.0])):
        assert frame.empty
    assert len(summary.configs_table(store)) == len(get_profile("cpu").arms)


def test_localisation_display_tables_name_their_columns(tmp_path):
    from ggcam.analysis import summary

    runs = summary.runs_of(_synthetic_store(tmp_path))
    local = summary.localisation_table(runs)
    eq12, pointing = summary.eq12_table(runs), summary.pointing_table(runs)
    assert list(eq12.columns) == ["network", "arm", "runs", "CHF", "CHF (3×3)", "chance CHF",
                                  "pneumonia", "pneumonia (3×3)", "chance pneumonia"]
    assert list(pointing.columns) == ["network", "arm", "runs", "pointing game", "chance"]
    pd.testing.assert_series_equal(eq12["CHF"], local["interp_chf"], check_names=False)
    pd.testing.assert_series_equal(pointing["pointing game"], local["pointing"], check_names=False)


def test_learning_targets_need_the_auc_and_few_single_class_runs():
    from ggcam.analysis import summary

    def runs(network, aucs, single):
        return pd.DataFrame({"network": network, "variant": ["standard"] * 10 + ["ggcam-warm"] * 10,
                             "auc_ovo": aucs + aucs, "single_class": single + [False] * 10})

    ok = runs("a", [0.8] * 10, [True] + [False] * 9)  # 1 in 10 single-class: allowed
    low = runs("b", [0.74] * 10, [False] * 10)  # median below 0.75
    many = runs("c", [0.9] * 10, [True, True] + [False] * 8)  # 2 in 10 single-class
    t = summary.learning_targets(pd.concat([ok, low, many]), ("standard", "ggcam-warm"))
    assert t.set_index("network")["target met"].to_dict() == {"a": True, "b": False, "c": False}
    assert t.loc[t["network"] == "c", "single-class, standard"].item() == "2 of 10"
    assert summary.learning_targets(ok.iloc[:0], ("standard", "ggcam-warm")).empty


def test_pages_label_the_data_by_where_the_runs_came_from(tmp_path):
    import pandas as pd

    from ggcam.analysis import summary

    store = _synthetic_store(tmp_path)
    assert "on the phantom (synthetic radiographs" in summary.scope_note(store)
    runs = pd.read_csv(store.path / "runs.csv")
    runs.assign(data_origin="real").to_csv(store.path / "runs.csv", index=False)
    note = summary.scope_note(store)  # the cpu profile pointed at the real release
    assert "the real EGD-CXR + MIMIC-CXR release" in note and "phantom" not in note


def test_paired_table_primary_is_auc_only_and_holm_covers_the_rest(tmp_path):
    from ggcam.analysis import summary
    from ggcam.analysis.effects import arm_effects
    from ggcam.experiment import get_profile

    store = _synthetic_store(tmp_path)
    paired = summary.paired_table(store, n_boot=50, cache_dir=tmp_path / "cache")
    primary = paired[paired["primary"]]
    assert list(primary["metric"]) == ["auc_ovo"]
    assert (primary["a"].iloc[0], primary["b"].iloc[0]) == ("standard", "ggcam-warm")
    assert primary["interval"].iloc[0] == "seeds+images"
    assert primary["p"].iloc[0] == primary["p_holm"].iloc[0]
    secondary = paired[~paired["primary"]]
    assert len(secondary) == 5  # shuffled vs warm on 3 metrics, pointing and cc of the primary pair
    assert (secondary["p_holm"] >= secondary["p"]).all() and paired["usable"].all()
    # The cpu study fixed its Holm families before the sweep: the rows they hold carry the
    # front page's family and adjusted p (arm_effects), so one comparison shows one p in the
    # book; the grid pointing game is no family's: exploratory, Holm within the page's group.
    effects = arm_effects(summary.runs_of(store), get_profile("cpu"))
    effects = effects[effects["p"].notna()]
    for _, row in secondary.iterrows():
        same = effects[(effects["metric"] == row["metric"]) & (
            effects[["reference", "arm"]].apply(set, axis=1) == {row["a"], row["b"]})]
        if row["metric"] == "pointing":
            assert row["family"].endswith("(exploratory)") and row["p_holm"] == row["p"]
        else:
            assert (row["family"], row["p_holm"]) == (same["family"].item(), same["p_holm"].item())
            m = (effects["family"] == row["family"]).sum()  # the fixed family's size
            assert row["p_floor"] == min(1.0, m * 2.0 ** (1 - 6))
    assert secondary.loc[secondary["metric"] == "auc_ovo", "p_holm"].item() == 4 * 2.0 ** (1 - 6)
    assert primary["family"].iloc[0] == "primary"
    where = summary.localisation_sentence(store, paired, "resnet18")
    assert "grid pointing game against the true findings" in where and "centre prior" not in where
    # ... outside the fixed families, so its Holm p is called exploratory, beside a random peak
    assert "exploratory Holm p = " in where and "; medians: `ggcam-warm` " in where
    assert ", a random peak 0.20)" in where and "the mean-gaze map" not in where  # no prior given
    assert (tmp_path / "cache").is_dir() and any((tmp_path / "cache").iterdir())
    again = summary.paired_table(store, n_boot=50, cache_dir=tmp_path / "cache")
    assert again.equals(paired)
    sentence = summary.answer_sentence(store, paired, "resnet18")
    assert sentence.startswith("On ResNet18, `ggcam-warm` gives a test AUC higher than `standard`")
    assert "over 6 seeds" in sentence and "`ggcam-shuffled`" in sentence
    assert "Provisional: 6 of the 8 planned" in sentence
    shown = summary.paired_display(paired)
    assert shown["p Holm-adjusted"].isna().sum() == 1  # only the primary is unadjusted


def test_a_study_without_fixed_families_keeps_the_pages_holm_groups(tmp_path):
    import numpy as np

    from ggcam.analysis import summary
    from ggcam.stats.paired import holm

    paired = summary.paired_table(_synthetic_store(tmp_path, profile="cpu-v1"), n_boot=20)
    secondary = paired[~paired["primary"]]
    # The first study: the primary pair's localisation (2 rows here) and the controls (3
    # rows); the floor is m · 2^(1-n) at n = 6 seeds.
    families = secondary.groupby("family").size().to_dict()
    assert families == {"controls": 3, "localisation": 2}
    for family, m in families.items():
        rows = secondary[secondary["family"] == family]
        np.testing.assert_allclose(rows["p_holm"], holm(rows["p"]))
        assert rows["p_floor"].eq(m * 2.0 ** (1 - 6)).all()


def test_paired_table_waits_for_two_paired_seeds(tmp_path):
    from ggcam.analysis import summary

    store = _synthetic_store(tmp_path, seeds=(0,))
    assert summary.paired_table(store, n_boot=10).empty
    assert summary.answer(store)["paired seeds"].tolist() == [0]


def test_omega_quantiles_interpolate_within_bins():
    import pandas as pd

    from ggcam.analysis.summary import omega_quantiles

    hist = pd.DataFrame({"run_id": "r", "network": "resnet18", "variant": "standard", "seed": 0,
                         "bin_left": [-1.0, 0.0], "bin_right": [0.0, 1.0], "count": [1, 3]})
    q = omega_quantiles(hist).iloc[0]
    assert q["q50"] == pytest.approx(1 / 3)  # 0.25 of the mass below 0, then linear
    assert q["q1"] == pytest.approx(-0.96) and q["q99"] == pytest.approx(1 - 0.04 / 3)


def test_short_flags_counts_each_kind_and_names_sigma():
    from ggcam.analysis.summary import short_flags

    text = short_flags("adam-overflow:model.a@epoch2;adam-overflow:model.b@epoch1;"
                       "adam-overflow:loss_fn.log_sigma_sm@epoch1;sigmoid-saturated@epoch3")
    assert text == ("adam-overflow ×2 from epoch 1; adam-overflow:loss_fn.log_sigma_sm from "
                    "epoch 1; sigmoid-saturated from epoch 3")
    assert short_flags("") == ""


def test_figures_tree_and_released_behaviours(tmp_path):
    from ggcam.viz import figures

    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "x.csv").write_text("")
    for k in range(3):
        (tmp_path / f"f{k}.txt").write_text("")
    assert figures.tree(tmp_path, depth=1, limit=2) == "a/\n    x.csv\nf0.txt\n... (2 more)"
    table = figures.released_behaviours()
    reproduced = " ".join(table.loc[table.iloc[:, 1].str.startswith("yes"), table.columns[0]])
    for item in ("mean over channels", "Normal-class map", "α never", "B = 500",
                 "best weights reloaded", "no input normalisation", "validation total loss"):
        assert item in reproduced, item
    left_out = " ".join(table.loc[table.iloc[:, 1].str.startswith("no"), table.columns[0]])
    for item in ("ResNet50-like", "batch 4", "no seeds", "fraction", "landscape"):
        assert item in left_out, item


def test_paper_medians_follow_the_network_family():
    import pandas as pd

    from ggcam.analysis.paper_values import PAPER_MEDIAN_AUC
    from ggcam.viz import figures

    runs = pd.DataFrame({"network": ["resnet18", "efficientnet_b0"], "variant": "standard"})
    marks = figures.paper_medians(runs)["auc_ovo"]
    assert marks[("resnet18", "standard")] == PAPER_MEDIAN_AUC[("resnet50", "standard")]
    assert marks[("efficientnet_b0", "ggcam-warm")] == PAPER_MEDIAN_AUC[("efficientnet_v2_s", "ggcam")]


def test_training_time_counts_the_epochs_before_a_resume(tmp_path):
    import pandas as pd

    from ggcam.analysis.summary_store import training_seconds

    store = _synthetic_store(tmp_path, seeds=(0, 1))
    runs = pd.read_csv(store.path / "runs.csv").assign(wall_s=100.0)
    (store.path / "curves").mkdir()
    for rid, seconds in (("resnet18__standard__s0", [40, 40]), ("resnet18__standard__s1", [90, 90])):
        pd.DataFrame({"epoch": [1, 2], "seconds": seconds, "run_id": rid}).to_csv(
            store.path / "curves" / f"{rid}.csv", index=False)
    wall = training_seconds(store, runs)
    assert wall["resnet18__standard__s0"] == 100  # the record: epochs plus testing
    assert wall["resnet18__standard__s1"] == 180  # resumed: the record missed epoch 1
    assert wall["resnet18__ggcam-warm__s0"] == 100  # no curves: the record


def test_older_records_are_judged_by_the_current_learned_rule(tmp_path):
    import numpy as np
    import pandas as pd

    from ggcam.analysis import summary

    store = _synthetic_store(tmp_path, seeds=(0,))
    runs = pd.read_csv(store.path / "runs.csv")
    runs = runs.assign(auc_ovo_low=0.56, recall_normal=0.5, recall_chf=0.5, recall_pneumonia=0.5,
                       learned_reason=pd.Series([np.nan] * 3, dtype=object), learned=True)
    runs.loc[0, "recall_pneumonia"] = 0.05  # AUC 0.56 but pneumonia all but never named
    runs.loc[1, "learned_reason"] = "written under the current rule"  # left as written
    runs.loc[1, "recall_pneumonia"] = 0.0
    runs.to_csv(store.path / "runs.csv", index=False)
    judged = summary.runs_of(store)
    assert list(judged["learned"]) == [False, True, True] and judged["learned"].dtype == bool
    assert judged.loc[0, "learned_reason"].startswith("pneumonia has recall 0.05, below 0.1")
    assert judged.loc[0, "learned_reason"].endswith("(the current rule, applied to an older record)")
    assert judged.loc[1, "learned_reason"] == "written under the current rule"
