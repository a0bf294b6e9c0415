# community.remoteit developer and CI entry points. `make help` lists the targets.
# Everything installs from the package registries only (PyPI, Debian).

SHELL  := /bin/bash
PYTHON ?= python3

# The ansible-core series we test: the oldest we support and the newest of each Python. Each gets
# a virtualenv .venv-<core>, except the demo's core, whose venv is .venv: the newest core that
# runs on Debian 12's python3 (3.11). 2.20 and later need Python 3.12+, found as a user's
# machine offers it (tests/utils/find_python.sh: pythonX.Y on the PATH, then pyenv's).
CORES     := 2.16 2.19 2.20 2.21 2.22
CORE_DEMO := 2.19
PYTHON_VERSION_2.20 := 3.12
PYTHON_VERSION_2.21 := 3.13
PYTHON_VERSION_2.22 := 3.13
# A core's release candidate until its release exists: a new venv then takes the release (an existing one keeps what
# it has: `rm -rf .venv-2.22`). A spec that names a pre-release also takes later release candidates: once 2.22.0 is
# out, drop this line and the series spec applies.
CORE_SPEC_2.22 := 'ansible-core>=2.22.0rc1,<2.23'
core_spec       = $(or $(CORE_SPEC_$(1)),'ansible-core==$(1).*')
# The client talks HTTP through urllib3, which requests installs in either series (1.26 or 2): the oldest core's
# venv keeps 1.26, as older distributions and execution environments do, so both are tested.
REQUIREMENTS_2.16 := 'urllib3<2'
VENV      ?= .venv
venv_of    = $(if $(filter $(CORE_DEMO),$(1)),$(VENV),.venv-$(1))
# ansible-lint, galaxy-importer, ansible-builder, antsibull-*, Sphinx: pinned apart from the cores.
TOOLS    ?= .venv-tools
# nox and antsibull-nox, apart from the tools: nox needs an attrs that galaxy-importer refuses.
NOX      ?= .venv-nox
# ansible-rulebook, for the event source's end-to-end test: pinned apart from the cores too. The playbooks a
# rulebook runs are the core under test's: integration-<core> puts its venv first on PATH.
EDA      ?= .venv-eda

# Extra arguments for ansible-test sanity, e.g. SANITY_ARGS="--test pep8".
SANITY_ARGS   ?=
# Extra pytest arguments for units/integration, e.g. PYTEST_ARGS="-k connect -x".
PYTEST_ARGS   ?=

VERSION        := $(shell sed -n 's/^version: *//p' galaxy.yml)
TARBALL        := .cache/build/community-remoteit-$(VERSION).tar.gz
SSHD           := /usr/sbin/sshd
# Whether the java on the PATH is 17 or later, as ansible-rulebook's rule engine (Drools) needs.
JAVA_17         = java -XshowSettings:properties -version 2>&1 | grep -Eq 'java\.specification\.version = (1[7-9]|[2-9][0-9])$$'
# The end-to-end tests' ansible-rulebook, and the Java it runs (JAVA_HOME, else the java on the PATH).
EDA_ENV         = REMOTEIT_TEST_RULEBOOK=$(CURDIR)/$(EDA)/bin/ansible-rulebook \
	JAVA_HOME="$${JAVA_HOME:-$$(dirname "$$(dirname "$$(readlink -f "$$(command -v java)")")")}"
COLLECTIONS    := $(CURDIR)/.cache/collections
COLLECTION_DIR := $(COLLECTIONS)/ansible_collections/community/remoteit
INSTALLED      := $(CURDIR)/.cache/installed
DOCSITE        := $(CURDIR)/.cache/docsite
SUDO           := $(if $(filter 0,$(shell id -u)),,sudo)
# This machine's pip configuration names local indexes that hold only some packages; pip warns
# once per package about the others. Drop that noise, keep every other message.
PIP_QUIET      := 2> >(grep -v 'is ignored: it is neither a file nor a directory' >&2)

# `make test` runs these gates in this order; each is a target of its own (`make lint`, ...).
GATES += changelog         # antsibull-changelog lint; CHANGELOG.md matches the fragments
GATES += lint              # ansible-lint --profile production: collection, roles, demo, test playbooks
GATES += nox               # antsibull-nox's extra-checks (no unwanted files, no trailing whitespace); antsibull-nox.toml
GATES += docs              # antsibull-docs lint, ansible-doc of every plugin on the oldest and newest core, docsite
GATES += $(addprefix sanity-,$(CORES))       # ansible-test sanity --venv, every test, no ignore files
GATES += $(addprefix units-,$(CORES))        # unit tests (pytest-ansible), no skipped tests
GATES += units-ansible-test                  # the same unit tests as maintainers run them: ansible-test units --venv, newest core
GATES += $(addprefix integration-,$(CORES))  # end-to-end tests: real sshd + the sandbox (+ ansible-rulebook); see E2E_ONLY_AT_THE_ENDS
GATES += galaxy            # ansible-galaxy collection build, tarball contents, galaxy-importer clean
GATES += ee                # ansible-builder: introspect the built collection, create a build context
GATES += demo-installed    # the demo against the built tarball installed into an empty path

.DEFAULT_GOAL := help
.PHONY: help test venv venvs venv-eda nox-venv nox tools sshd java collection units integration sanity units-ansible-test lint changelog \
	changelog-update docs build galaxy ee demo demo-installed bench clean distclean

help: ## Show this help
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z0-9._%-]+:.*## / {name = $$1; sub("%", "<core>", name); printf "  %-22s %s\n", name, $$2}' $(MAKEFILE_LIST)
	@echo "  (<core> is one of: $(CORES))"

# A gate must never change what git tracks: the tree's status is the same before and after.
tree_state = { git status --porcelain=v1 --untracked-files=all; git diff; } | sha256sum

test: ## Run every gate (GATES above), timing each; fails if any gate failed or changed a tracked file
	@mkdir -p .cache; : > .cache/gates.log; passed=0; failed=0; \
	for gate in $(GATES); do \
		printf '\n==== gate %s\n' $$gate; start=$$(date +%s); before=$$($(tree_state)); \
		if $(MAKE) --no-print-directory $$gate; then result=passed; else result=FAILED; fi; \
		if [ "$$($(tree_state))" != "$$before" ]; then \
			echo "gate $$gate changed the files git sees (git status above); gates must not"; git status --short; \
			result=FAILED; fi; \
		if [ $$result = passed ]; then passed=$$((passed + 1)); else failed=$$((failed + 1)); fi; \
		printf '==== gate %-22s %-6s in %4d s\n' $$gate $$result $$(( $$(date +%s) - start )) | tee -a .cache/gates.log; \
	done; \
	printf '\n==== make test\n'; cat .cache/gates.log; \
	echo "gates: $$passed passed, $$failed failed"; [ $$failed -eq 0 ]

# ---- environments -------------------------------------------------------------------------

# $(1): directory, $(2): requirements file, $(3): extra requirement, $(4): Python version (X.Y), or empty
# for $(PYTHON). A missing Python fails with find_python.sh's advice on getting one.
define make_venv
	@python=$(PYTHON); if [ -n "$(4)" ]; then python=$$(sh tests/utils/find_python.sh $(4)) || exit 1; fi; \
		echo "Creating $(1) with $$python ($$($$python --version 2>&1))"; \
		$$python -m venv $(1)
	$(1)/bin/pip install -q --upgrade pip $(PIP_QUIET)
	$(1)/bin/pip install -q -r $(2) $(3) $(PIP_QUIET)
	touch $(1)/.installed
endef

venv: $(VENV)/.installed ## Create .venv: test requirements and the demo's ansible-core (CORE_DEMO)
$(VENV)/.installed: tests/requirements.txt
	$(call make_venv,$(VENV),tests/requirements.txt,$(call core_spec,$(CORE_DEMO)),)

.venv-%/.installed: tests/requirements.txt
	$(call make_venv,.venv-$*,tests/requirements.txt,$(call core_spec,$*) $(REQUIREMENTS_$*),$(PYTHON_VERSION_$*))

venvs: $(foreach core,$(CORES),venv-$(core)) ## Create the virtualenv of every core
venv-%: ## Create the virtualenv of one core (.venv for CORE_DEMO), e.g. make venv-2.21
	@$(MAKE) --no-print-directory $(call venv_of,$*)/.installed

tools: $(TOOLS)/.installed ## Create .venv-tools: ansible-lint, galaxy-importer, ansible-builder, antsibull-*
$(TOOLS)/.installed: tests/requirements-tools.txt
	$(call make_venv,$(TOOLS),tests/requirements-tools.txt,,)

nox-venv: $(NOX)/.installed
$(NOX)/.installed: tests/requirements-nox.txt
	$(call make_venv,$(NOX),tests/requirements-nox.txt,,)

venv-eda: $(EDA)/.installed ## Create .venv-eda: ansible-rulebook, for the event source's end-to-end test
$(EDA)/.installed: tests/requirements-eda.txt
	$(call make_venv,$(EDA),tests/requirements-eda.txt,,)

java: ## Install openjdk-17-jre-headless when no Java 17 or later is on the PATH (ansible-rulebook needs it)
	@if ! $(JAVA_17); then \
		echo "Installing openjdk-17-jre-headless"; \
		$(SUDO) apt-get update && $(SUDO) apt-get install -y openjdk-17-jre-headless; \
	fi

sshd: ## Install openssh-server when /usr/sbin/sshd is missing (the test "device")
	@if [ ! -x $(SSHD) ]; then \
		echo "Installing openssh-server"; \
		$(SUDO) apt-get update && $(SUDO) apt-get install -y openssh-server; \
	fi

collection: ## Link the repo into .cache/collections so Ansible finds community.remoteit
	@mkdir -p $(dir $(COLLECTION_DIR))
	@ln -sfn $(CURDIR) $(COLLECTION_DIR)

# Copies the tracked and untracked-but-not-ignored files to $(1): what a fresh clone holds,
# without virtualenvs, caches or test output. --ignore-failed-read skips deleted files.
define stage
	rm -rf $(1) && mkdir -p $(1)
	git ls-files -z -co --exclude-standard | tar --null --ignore-failed-read -T - -cf - | tar -xf - -C $(1)
endef

# ---- unit and end-to-end tests --------------------------------------------------------------

# pytest-ansible would otherwise build its own collections/ tree (a one-time snapshot of the
# top-level entries); --ansible-unit-inject-only makes it use the .cache/collections link.
# A skipped test fails the gate: every test can run here.
define pytest # $(1): venv, $(2): tests, $(3): more environment variables (NAME=value ...), $(4): more pytest arguments
	@mkdir -p .cache; log=.cache/pytest-$(notdir $(1))-$(notdir $(2)).log; \
	$(3) ANSIBLE_COLLECTIONS_PATH=$(COLLECTIONS) $(1)/bin/python -m pytest --ansible-unit-inject-only \
		-p no:cacheprovider -q -rs $(2) $(4) $(PYTEST_ARGS) | tee $$log; rc=$${PIPESTATUS[0]}; \
	if [ $$rc -eq 0 ] && tail -n 1 $$log | grep -q ' skipped'; then \
		echo "$(2): skipped tests (listed above); every test must run here"; rc=1; fi; \
	exit $$rc
endef

units: $(addprefix units-,$(CORES)) ## Unit tests (tests/unit) on every core
# Units compute: one pytest-xdist worker per core of the machine.
units-%: venv-% collection ## Unit tests (tests/unit) on one core, e.g. make units-2.21
	$(call pytest,$(call venv_of,$*),tests/unit,,-n auto)

integration: $(addprefix integration-,$(CORES)) ## End-to-end tests (tests/e2e) on every core
# The oldest and the newest core run every end-to-end test. The cores between run the representative part, the
# tests marked `every_core` (tests/e2e/conftest.py says which and why): the code that differs between cores, driven
# the everyday ways. A -k in PYTEST_ARGS narrows that further; a -m of its own replaces it.
E2E_BETWEEN := -m every_core
# End-to-end tests mostly wait (on ssh, ansible-playbook, the sandbox's delays): four pytest-xdist workers, each
# with its own sandbox and device, keep both cores of a small machine busy.
E2E_WORKERS ?= 4
integration-%: venv-% venv-eda collection sshd java ## End-to-end tests (tests/e2e: real sshd + sandbox + ansible-rulebook) on one core
	$(call pytest,$(call venv_of,$*),tests/e2e,$(EDA_ENV),-n $(E2E_WORKERS) --dist loadfile \
		$(if $(filter $*,$(firstword $(CORES)) $(lastword $(CORES))),,$(E2E_BETWEEN)))

# ---- ansible-test ---------------------------------------------------------------------------

# ansible-test must run from inside an ansible_collections/<ns>/<name> tree: a staged copy per
# core. The content root is set, or ansible-test walks up to the repo's .git and finds no targets.
# --venv bootstraps pip with a script ansible-test downloads; pip_bootstrap.py caches an offline
# stand-in for it only where that download fails. $(1): core, $(2): ansible-test command.
define ansible_test
	$(call stage,$(CURDIR)/.cache/ansible-test-$(1)/ansible_collections/community/remoteit)
	$(call venv_of,$(1))/bin/python tests/utils/pip_bootstrap.py
	cd $(CURDIR)/.cache/ansible-test-$(1)/ansible_collections/community/remoteit && \
		ANSIBLE_TEST_CONTENT_ROOT=$$PWD $(abspath $(call venv_of,$(1)))/bin/ansible-test $(2) --venv \
		--python $$($(abspath $(call venv_of,$(1)))/bin/python -c 'import sys; print("%d.%d" % sys.version_info[:2])')
endef

sanity: $(addprefix sanity-,$(CORES)) ## ansible-test sanity on every core
# Sanity tests whose requirements a core's ansible-test pins to a download from GitHub rather than PyPI: they run
# where GitHub answers and are skipped, saying so, where it does not (an offline machine with a PyPI mirror).
# 2.22.0rc1 pins pylint's dill to a GitHub archive.
SANITY_NEEDS_GITHUB_2.22 := pylint
github_skips = $(if $(SANITY_NEEDS_GITHUB_$(1)),$$($(PYTHON) -c 'import socket; socket.create_connection(("github.com", 443), 5)' \
	2>/dev/null || { echo "sanity-$(1): github.com does not answer: skipping $(SANITY_NEEDS_GITHUB_$(1)), whose requirements ansible-test downloads from it" >&2; \
	printf -- '--skip-test %s ' $(SANITY_NEEDS_GITHUB_$(1)); }))
sanity-%: venv-% ## ansible-test sanity --venv (all tests, no ignore files) on one core
	@if compgen -G 'tests/sanity/ignore-*.txt' >/dev/null; then \
		echo "tests/sanity/ignore-*.txt: this collection has no ignore files; fix the findings"; exit 1; fi
	$(call ansible_test,$*,sanity $(call github_skips,$*) $(SANITY_ARGS))

# The newest core, as maintainers run them (units-<core> runs the same tests with pytest on every core).
units-ansible-test: venv-$(lastword $(CORES)) ## ansible-test units --venv on the newest core
	$(call ansible_test,$(lastword $(CORES)),units)

# ---- maintainer and Galaxy gates (tools venv) -------------------------------------------------

lint docs changelog changelog-update build galaxy ee: export PATH := $(CURDIR)/$(TOOLS)/bin:$(PATH)

nox: nox-venv ## antsibull-nox's extra-checks session (the other sessions of antsibull-nox.toml: nox -l)
	$(NOX)/bin/nox -e extra-checks

lint: tools collection ## ansible-lint --profile production --strict (config: .ansible-lint)
	ANSIBLE_COLLECTIONS_PATH=$(COLLECTIONS) ansible-lint --profile production --strict --offline

# `generate` needs a release in changelogs/changelog.yaml; we cut none here. So CHANGELOG.md
# previews the next release: a scratch copy releases $(VERSION) and we keep its CHANGELOG.md.
define changelog_preview
	antsibull-changelog lint
	$(call stage,.cache/changelog)
	@# The scratch copy lies inside this repo's git work tree but is ignored by it: no VCS there.
	sed -i 's/^vcs: .*/vcs: none/' .cache/changelog/changelogs/config.yaml
	cd .cache/changelog && if grep -qs '^  $(VERSION):' changelogs/changelog.yaml; \
		then antsibull-changelog generate; else antsibull-changelog release --version $(VERSION); fi
endef

changelog: tools ## antsibull-changelog lint; CHANGELOG.md must match changelogs/fragments (changes nothing)
	$(changelog_preview)
	@if cmp -s .cache/changelog/CHANGELOG.md CHANGELOG.md; then echo "CHANGELOG.md is up to date"; \
	else diff -u CHANGELOG.md .cache/changelog/CHANGELOG.md | head -n 40; \
		echo "CHANGELOG.md does not match changelogs/fragments: run 'make changelog-update' and commit it"; exit 1; fi

changelog-update: tools ## Regenerate CHANGELOG.md from changelogs/fragments (then commit it)
	$(changelog_preview)
	cp .cache/changelog/CHANGELOG.md CHANGELOG.md

# Renders every plugin and role of the collection with ansible-doc of venv $(1), one call per type (a warning
# names its plugin); any warning fails, but one about ansible-core's own internal collection, which ansible-doc
# -t role of 2.20+ prints.
CORE_DOC_NOISE := ansible/_protomatter' does not have a MANIFEST.json
define ansible_doc_all
	@export ANSIBLE_COLLECTIONS_PATH=$(COLLECTIONS); count=0; err=$$(mktemp); \
	for type in module lookup inventory filter test callback connection become cache role; do \
		names=$$($(1)/bin/ansible-doc -t $$type -l community.remoteit --json | \
			$(1)/bin/python -c 'import json, sys; print(" ".join(json.load(sys.stdin)))') || exit 1; \
		[ -n "$$names" ] || continue; \
		if ! $(1)/bin/ansible-doc -t $$type $$names > /dev/null 2> $$err \
				|| grep -vF "$(CORE_DOC_NOISE)" $$err | grep -q .; then \
			echo "ansible-doc -t $$type $$names failed or warned:"; cat $$err; exit 1; fi; \
		count=$$((count + $$(wc -w <<< "$$names"))); \
	done; \
	[ $$count -gt 0 ] && echo "ansible-doc ($$($(1)/bin/ansible --version | sed -n 1p)): rendered $$count plugins and roles"
endef

docs: tools venv-$(firstword $(CORES)) venv-$(lastword $(CORES)) collection ## antsibull-docs lint, ansible-doc of every plugin, the docsite (no warnings)
	cd $(COLLECTION_DIR) && ANSIBLE_COLLECTIONS_PATH=$(COLLECTIONS) antsibull-docs lint-collection-docs \
		--plugin-docs --check-extra-docs-refs --validate-collection-refs all --disallow-unknown-collection-refs .
	$(call ansible_doc_all,$(TOOLS))
	$(call ansible_doc_all,$(call venv_of,$(firstword $(CORES))))
	$(call ansible_doc_all,$(call venv_of,$(lastword $(CORES))))
	rm -rf $(DOCSITE) && mkdir -p $(DOCSITE)
	ANSIBLE_COLLECTIONS_PATH=$(COLLECTIONS) antsibull-docs sphinx-init --use-current --squash-hierarchy \
		--fail-on-error --dest-dir $(DOCSITE) community.remoteit
	@# Offline intersphinx: the Ansible docs' targets we link to, from docs/docsite/intersphinx-ansible.txt.
	python -c 'import sys, zlib; \
		body = "".join(l for l in open(sys.argv[1], encoding="utf-8") if l.strip() and not l.startswith("#")); \
		head = "# Sphinx inventory version 2\n# Project: Ansible\n# Version: devel\n# The remainder of this file is compressed using zlib.\n"; \
		open(sys.argv[2], "wb").write(head.encode() + zlib.compress(body.encode()))' \
		docs/docsite/intersphinx-ansible.txt $(DOCSITE)/ansible_devel.inv
	printf '\n# make docs: no network, so the Ansible docs inventory is a local file.\nintersphinx_mapping = {\n    "ansible_devel": ("https://docs.ansible.com/projects/ansible/devel/", "%s"),\n}\n' \
		$(DOCSITE)/ansible_devel.inv >> $(DOCSITE)/conf.py
	@# build.sh runs sphinx-build with -W: any warning fails the build.
	ANSIBLE_COLLECTIONS_PATH=$(COLLECTIONS) $(DOCSITE)/build.sh
	@echo "docsite: $(DOCSITE)/build/html/index.html"

build: tools changelog ## ansible-galaxy collection build into .cache/build; check what the tarball holds
	rm -rf .cache/build
	ansible-galaxy collection build --force --output-path .cache/build
	@tar -tzf $(TARBALL) > .cache/build/contents.txt
	@if grep -En '(^|/)(\.venv[^/]*|\.cache|\.ansible|\.pytest_cache|__pycache__|\.git)(/|$$)|^(collections|build|bench|tests/output|demo/\.run)(/|$$)|\.pyc$$|\.tar\.gz$$|\.plugin-cache\.yaml$$' \
		.cache/build/contents.txt; then echo "$(TARBALL) holds the files above: extend build_ignore in galaxy.yml"; exit 1; fi
	@for f in CHANGELOG.md meta/runtime.yml meta/execution-environment.yml meta/ee-requirements.txt \
		meta/ee-bindep.txt plugins/modules/remoteit_connection.py roles/proxy/meta/argument_specs.yml \
		meta/extensions.yml extensions/eda/plugins/event_source/device_events.py \
		extensions/eda/rulebooks/configure_online_devices.yml playbooks/eda_configure_device.yml; do \
		grep -qx "$$f" .cache/build/contents.txt || { echo "$(TARBALL) lacks $$f"; exit 1; }; done
	@echo "$(TARBALL): $$(wc -l < .cache/build/contents.txt) entries, none of them output, caches or virtualenvs"

galaxy: build ## galaxy-importer on the built tarball (what Galaxy runs): no errors, no warnings
	cd .cache/build && python -m galaxy_importer.main $(notdir $(TARBALL)) 2>&1 | tee importer.log; \
		rc=$${PIPESTATUS[0]}; [ $$rc -eq 0 ] || exit $$rc
	@if grep -E '^(WARNING|ERROR)' .cache/build/importer.log; then \
		echo "galaxy-importer: the warnings and errors above need a fix"; exit 1; fi

ee: build ## ansible-builder: the built collection's EE dependencies, build contexts for tests/ee and the EDA decision environment
	rm -rf .cache/ee && ANSIBLE_COLLECTIONS_PATH=$(CURDIR)/.cache/ee/collections \
		ansible-galaxy collection install --offline -p .cache/ee/collections $(TARBALL)
	ansible-builder introspect --sanitize .cache/ee/collections | tee .cache/ee/introspect.txt
	@for dep in 'requests' 'openssh-clients \[platform:rpm\]' 'openssh-client \[platform:dpkg\]'; do \
		grep -q "^- '$$dep  *# from collection community.remoteit'" .cache/ee/introspect.txt \
		|| { echo "ansible-builder does not see '$$dep' from meta/execution-environment.yml"; exit 1; }; done
	ansible-builder create -f tests/ee/execution-environment.yml --context .cache/ee/context -v 2
	@ls .cache/ee/context/Containerfile .cache/ee/context/Dockerfile 2>/dev/null | grep -q . \
		&& grep -q 'community.remoteit' .cache/ee/context/_build/requirements.yml \
		&& echo "ee: build context in .cache/ee/context (podman/docker build it elsewhere)"
	@# AWX runs jobs with the EE's ansible-runner: the one the end-to-end tests run jobs with.
	@runner=$$(grep -x 'ansible-runner==.*' tests/requirements.txt); \
		cat .cache/ee/context/Containerfile .cache/ee/context/Dockerfile 2>/dev/null | grep -q "^ARG ANSIBLE_INSTALL_REFS=.* $$runner\"" \
		|| { echo "tests/ee/execution-environment.yml: the EE's ansible-runner is not the tested $$runner"; exit 1; }
	ansible-builder create -f extensions/eda/decision-environment.yml --context .cache/ee/de-context -v 2
	@ls .cache/ee/de-context/Containerfile .cache/ee/de-context/Dockerfile 2>/dev/null | grep -q . \
		&& grep -q 'community.remoteit' .cache/ee/de-context/_build/requirements.yml \
		&& grep -q 'ansible-rulebook' .cache/ee/de-context/_build/requirements.txt \
		&& echo "ee: decision environment build context in .cache/ee/de-context"

# ---- the demo ---------------------------------------------------------------------------------

demo: venv collection sshd ## Run the demo (demo/run.py) against the local sandbox
	ANSIBLE_COLLECTIONS_PATH=$(COLLECTIONS) $(VENV)/bin/python demo/run.py

bench: venv venv-$(firstword $(CORES)) collection ## Print what each task costs in time and API calls, against baselines (bench/bench.py)
	$(VENV)/bin/python bench/bench.py --inventory-python $(call venv_of,$(firstword $(CORES)))/bin/python

# What we ship is what we tested: Ansible sees only the installed tarball (the demo takes the
# sandbox and the device harness from this repo's tests/).
demo-installed: venv sshd build ## Install the built tarball into an empty path and run the demo against it
	rm -rf $(INSTALLED)
	ANSIBLE_COLLECTIONS_PATH=$(INSTALLED) $(VENV)/bin/ansible-galaxy collection install --offline \
		-p $(INSTALLED) $(TARBALL)
	ANSIBLE_COLLECTIONS_PATH=$(INSTALLED) ANSIBLE_COLLECTIONS_SCAN_SYS_PATH=false \
		$(VENV)/bin/ansible-galaxy collection list community.remoteit
	ANSIBLE_COLLECTIONS_PATH=$(INSTALLED) ANSIBLE_COLLECTIONS_SCAN_SYS_PATH=false \
		$(VENV)/bin/python demo/run.py

# ---- housekeeping -----------------------------------------------------------------------------

clean: ## Remove caches, test output and build artefacts (keeps the virtualenvs)
	rm -rf .cache .ansible .nox tests/output build collections .pytest_cache community-remoteit-*.tar.gz
	find . -path './.venv*' -prune -o -name __pycache__ -type d -prune -exec rm -rf {} +

distclean: clean ## clean, and remove the virtualenvs too
	rm -rf $(VENV) .venv-* $(TOOLS)
