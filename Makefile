# Entry points. Each target sets itself up on a fresh machine: it creates .venv, installs the
# package with its extras and registers the "ggcam" Jupyter kernel, once.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.ggcam-installed
PROFILE ?= cpu

.PHONY: setup book test test-unit test-notebooks test-html bench reproduce study study-pages audit-study clean

setup: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[test,book]"
	$(PY) -m ipykernel install --sys-prefix --name ggcam --display-name "Python (ggcam)" >/dev/null
	touch $(STAMP)

# The main job: the whole book from the embedded phantom data, HTML in _build/html.
book: $(STAMP)
	$(PY) book/build.py

# The executed notebooks are compared first (nbval), then the book is rebuilt from them and its
# HTML checked (book/check_html.py runs inside book/build.py; tests/test_book_html.py after).
test: test-unit test-notebooks test-html

test-unit: $(STAMP)
	$(PY) -m pytest tests -q

test-notebooks: $(STAMP)
	OMP_WAIT_POLICY=PASSIVE $(PY) -m pytest -q -p no:cacheprovider --nbval --nbval-current-env --nbval-sanitize-with tests/nbval_sanitize.cfg book/[0-9][0-9]_*.ipynb

test-html: book
	GGCAM_REQUIRE_BOOK=1 $(PY) -m pytest -q -p no:cacheprovider tests/test_book_html.py

bench: $(STAMP)
	$(PY) benchmarks/run_all.py

# Train a whole profile (resumable), then rebuild the book from it.
reproduce: $(STAMP)
	$(PY) -m ggcam sweep --profile $(PROFILE)
	GGCAM_FULL_RECOMPUTE=1 $(PY) -m pytest -q tests/test_results_recompute.py
	$(PY) book/build.py

# The cpu study, every run at one commit: a worktree pinned at STUDY_COMMIT imports its own
# ggcam (PYTHONPATH), so work can go on on main while it trains; results land in this
# checkout's results/cpu (commit them as they come). Hours; resumable: run it again to resume.
# STUDY_COMMIT: the commit every run of results/cpu is trained at.
STUDY_COMMIT ?= 93ecd2d
STUDY_TREE := .cache/study-$(STUDY_COMMIT)
study: $(STAMP)
	@test "$(STUDY_COMMIT)" != pending || { echo "set STUDY_COMMIT (the commit the study runs at)"; exit 2; }
	test -d $(STUDY_TREE) || { git worktree prune; git worktree add --detach $(STUDY_TREE) $(STUDY_COMMIT); }
	cd $(STUDY_TREE) && PYTHONPATH=$(CURDIR)/$(STUDY_TREE) $(CURDIR)/$(PY) -m ggcam sweep --profile cpu \
		--results $(CURDIR)/results --work $(CURDIR)/.cache/study-work

# After committing new runs of results/cpu: re-execute the pages that read it, so the committed
# notebooks match the committed results (nbval compares them). Pages 01 and 10 are deleted
# first: their progress lines are nbval-ignore-output, which a rebuild would otherwise keep.
STUDY_PAGES := 01 04 05 06 07 08 10
study-pages: $(STAMP)
	rm -f book/01_answer.ipynb book/10_performance.ipynb
	$(PY) book/build.py $(STUDY_PAGES)

# After the study: retrain one run of each primary arm at this commit and keep the outcome in
# results/cpu/reruns.csv (the book's page 05 lists it). ggcam-warm s3 was interrupted and
# resumed during the sweep, so its rerun also checks that resuming changes nothing.
AUDIT_RUNS ?= resnet18__standard__s3 resnet18__ggcam-warm__s3
audit-study: $(STAMP)
	for run in $(AUDIT_RUNS); do $(PY) -m ggcam rerun $$run --profile cpu --work .cache/study-work || exit 1; done

clean:
	rm -rf _build .cache
