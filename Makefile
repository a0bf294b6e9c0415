# community.remoteit developer and CI entry points. `make help` lists the targets.
# Everything installs from the package registries only (PyPI, Debian).

PYTHON        ?= python3
VENV          ?= .venv
ANSIBLE_CORE  ?= ansible-core>=2.19,<2.20
# Python that ansible-test sanity runs its tests with.
SANITY_PYTHON ?= 3.11
# Extra ansible-test arguments, e.g. SANITY_ARGS="--test pep8".
SANITY_ARGS   ?=
# ansible-test downloads get_pip_<version>.py from an unreachable host; we seed its
# cache instead. The version follows ansible-core (2.19 asks for pip 24.2).
GET_PIP_VERSION ?= 24_2
GET_PIP_SOURCE  ?= $(CURDIR)/../shared/ci/get_pip.py
GET_PIP_CACHE   := $(HOME)/.ansible/test/cache/get_pip_$(GET_PIP_VERSION).py

SSHD           := /usr/sbin/sshd
STAMP          := $(VENV)/.installed
COLLECTIONS    := $(CURDIR)/.cache/collections
COLLECTION_DIR := $(COLLECTIONS)/ansible_collections/community/remoteit
# ansible-test must run from inside an ansible_collections/<ns>/<name> tree.
SANITY_DIR     := $(CURDIR)/.cache/ansible-test/ansible_collections/community/remoteit
SUDO           := $(if $(filter 0,$(shell id -u)),,sudo)

.DEFAULT_GOAL := help
.PHONY: help venv sshd collection units integration sanity demo test clean distclean

help: ## Show this help
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf "  %-12s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

venv: $(STAMP) ## Create the virtualenv (VENV, default .venv) with the test requirements
$(STAMP): tests/requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install -q --upgrade pip
	$(VENV)/bin/pip install -q -r tests/requirements.txt
	@# A second step, so ANSIBLE_CORE=... can swap in another core (then: make distclean venv).
	$(VENV)/bin/pip install -q '$(ANSIBLE_CORE)'
	touch $@

sshd: ## Install openssh-server when /usr/sbin/sshd is missing (the test "device")
	@if [ ! -x $(SSHD) ]; then \
		echo "Installing openssh-server"; \
		$(SUDO) apt-get update && $(SUDO) apt-get install -y openssh-server; \
	fi

collection: ## Link the repo into .cache/collections so Ansible finds community.remoteit
	@mkdir -p $(dir $(COLLECTION_DIR))
	@ln -sfn $(CURDIR) $(COLLECTION_DIR)

# Recipes that run Ansible find the collection through this path.
units integration demo: export ANSIBLE_COLLECTIONS_PATH = $(COLLECTIONS)
# pytest-ansible would otherwise build its own collections/ tree (a one-time snapshot
# of the top-level entries); make it use the .cache/collections link instead.
PYTEST := $(VENV)/bin/python -m pytest --ansible-unit-inject-only

units: venv collection ## Run the unit tests (tests/unit)
	@if [ ! -d tests/unit ]; then echo "tests/unit: no unit tests yet"; exit 0; fi; \
	$(PYTEST) tests/unit -q; rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "tests/unit: no tests collected"; rc=0; fi; \
	exit $$rc

integration: venv collection sshd ## Run the end-to-end tests (tests/e2e, real sshd + sandbox)
	$(PYTEST) tests/e2e -q

sanity: venv ## Run ansible-test sanity on a staged copy of the collection
	rm -rf $(SANITY_DIR) && mkdir -p $(SANITY_DIR)
	@# Tracked plus untracked-but-not-ignored files; --ignore-failed-read skips deleted ones.
	git ls-files -z -co --exclude-standard \
		| tar --null --ignore-failed-read -T - -cf - | tar -xf - -C $(SANITY_DIR)
	@if [ -f $(GET_PIP_SOURCE) ]; then \
		mkdir -p $(dir $(GET_PIP_CACHE)) && cp $(GET_PIP_SOURCE) $(GET_PIP_CACHE); \
	fi
	@# The content root is set, or ansible-test walks up to the repo's .git and finds no targets.
	cd $(SANITY_DIR) && ANSIBLE_TEST_CONTENT_ROOT=$(SANITY_DIR) \
		$(abspath $(VENV))/bin/ansible-test sanity --venv --python $(SANITY_PYTHON) $(SANITY_ARGS)

demo: venv collection sshd ## Run the demo (demo/run.py) against the local sandbox
	$(VENV)/bin/python demo/run.py

test: ## Run units, integration and sanity, stopping at the first failure
	$(MAKE) units
	$(MAKE) integration
	$(MAKE) sanity

clean: ## Remove caches, test output and build artefacts (keeps the venv)
	rm -rf .cache tests/output build collections .pytest_cache community-remoteit-*.tar.gz
	find . -path ./$(VENV) -prune -o -name __pycache__ -type d -prune -exec rm -rf {} +

distclean: clean ## clean, and remove the venv too
	rm -rf $(VENV)
