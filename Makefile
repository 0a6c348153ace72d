# The two commands of the README. Each does all set-up on a fresh machine:
# creates $(VENV) if absent and installs the pinned stack (requirements/
# pinned.txt), reusing the mmcv wheel cache outside the repo.
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.mmsemanticmim-installed
WORK_DIR ?= work_dirs/demo
PYTEST_ARGS ?=

.PHONY: install test demo clean

$(STAMP): requirements/install.sh requirements/*.txt setup.py
	bash requirements/install.sh $(VENV)
	touch $@

install: $(STAMP)

test: $(STAMP)
	$(PY) -m pytest tests $(PYTEST_ARGS)

demo: $(STAMP)
	bash tools/demo.sh $(WORK_DIR)

clean:
	rm -rf $(VENV) work_dirs .pytest_cache

.PHONY: study
study: $(STAMP)
	[ -d data/mnist_demo/train ] || $(PY) tools/dataset_converters/mnist_to_folder.py data/mnist_demo
	$(PY) tools/analysis/semanticmim_study.py --work-dir work_dirs/study
