# The commands a newcomer needs: make run, make test. The rest serve them.
SHELL := /bin/bash
ROOT  := $(CURDIR)
BIN   := $(ROOT)/.bin
export GOBIN := $(BIN)
export PATH  := $(BIN):$(PATH)

# Pinned code-generation tools, installed from the Go module proxy into .bin.
BUF_VERSION             := v1.47.2
PROTOC_GEN_GO_VERSION   := v1.36.12
PROTOC_GEN_GO_GRPC_VER  := v1.6.2
GRPC_GATEWAY_VERSION    := v2.33.0

MODULES := proto services/platform services/practice-catalog services/twinning services/discussion services/notification gateway deploy/devstack deploy/check
PKGS    := $(addsuffix /...,$(addprefix ./,$(MODULES)))

.PHONY: run test test-topology test-unit web browser envdoc proto proto-check tools bench lint fmt vet tidy clean-data openapi-lint check-deploy

# The portal's front-end packages (bootstrap-italia, and axe-core for the
# browser tests) at the versions pinned in package-lock.json; installed by
# npm ci into node_modules (git-ignored), served by the gateway from there.
WEB := gateway/portal/web

web: $(WEB)/node_modules/.package-lock.json ## install the portal's pinned npm packages

$(WEB)/node_modules/.package-lock.json: $(WEB)/package.json $(WEB)/package-lock.json
	@command -v npm >/dev/null || { echo "npm is needed for the portal's assets: apt-get install -y npm"; exit 1; }
	cd $(WEB) && npm ci --ignore-scripts --no-audit --no-fund
	@touch $@

# The OpenAPI linter (@redocly/cli, version pinned in package.json and
# package-lock.json), run on the document the gateway serves; the Go test
# TestOpenAPIDocumentIsCurrent keeps gemella.swagger.json equal to it.
OPENAPI := gateway/openapi

$(OPENAPI)/node_modules/.package-lock.json: $(OPENAPI)/package.json $(OPENAPI)/package-lock.json
	@command -v npm >/dev/null || { echo "npm is needed for the OpenAPI linter: apt-get install -y npm"; exit 1; }
	cd $(OPENAPI) && npm ci --ignore-scripts --no-audit --no-fund
	@touch $@

openapi-lint: $(OPENAPI)/node_modules/.package-lock.json ## lint the OpenAPI document: 0 errors
	cd $(OPENAPI) && REDOCLY_TELEMETRY=off REDOCLY_SUPPRESS_UPDATE_NOTICE=true node_modules/.bin/redocly lint gemella.swagger.json --format=summary

# The browser tests drive Debian's Chromium, or the binary GEMELLA_CHROMIUM
# names. When it is missing, apt-get installs it if allowed (root, or
# passwordless sudo); otherwise the message says what to install.
CHROMIUM := $(or $(GEMELLA_CHROMIUM),/usr/bin/chromium)
APT_INSTALL := DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends

browser: ## Chromium for the browser tests, installed with apt-get when missing and allowed
	@if [ -x "$(CHROMIUM)" ]; then exit 0; fi; \
	need="make test needs Chromium for the browser tests (deploy/devstack/browsertest)"; \
	if [ -n "$(GEMELLA_CHROMIUM)" ]; then \
	  echo "$$need: GEMELLA_CHROMIUM=$(GEMELLA_CHROMIUM) is not an executable file"; exit 1; fi; \
	if ! command -v apt-get >/dev/null; then \
	  echo "$$need: install Chromium, then set GEMELLA_CHROMIUM to its binary"; exit 1; fi; \
	if [ "$$(id -u)" = 0 ]; then sudo=""; \
	elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then sudo="sudo -n"; \
	else echo "$$need: run 'sudo apt-get install -y chromium' (or set GEMELLA_CHROMIUM to a Chromium binary), then 'make test' again"; exit 1; fi; \
	echo "installing Chromium for the browser tests: apt-get install chromium"; \
	$$sudo env $(APT_INSTALL) chromium >/dev/null 2>&1 || \
	  { $$sudo apt-get update -q >/dev/null && $$sudo env $(APT_INSTALL) chromium >/dev/null; } || \
	  { echo "$$need: 'apt-get install chromium' failed; install it by hand, then 'make test' again"; exit 1; }; \
	[ -x "$(CHROMIUM)" ] || { echo "$$need: apt-get installed chromium but $(CHROMIUM) is missing; set GEMELLA_CHROMIUM"; exit 1; }

# The README's configuration tables and deploy/env/*.env, from the
# configuration structs; a test (deploy/devstack/envdoc) fails while they differ.
envdoc: ## regenerate the README's variable tables and deploy/env/*.env
	go run ./deploy/devstack/cmd/envdoc

run: web ## start everything with embedded NATS and FerretDB and demo data
	go build -o $(BIN)/devstack ./deploy/devstack/cmd/devstack
	exec $(BIN)/devstack

test: web browser proto-check vet openapi-lint ## unit, integration and browser tests (embedded FerretDB and NATS, Chromium)
	go test -count=1 -timeout 20m $(PKGS)
	@# go test hides a passing test's output; the matchmaking figure is shown on purpose.
	@go test -count=1 -run TestMatchmakingPrecisionAt3 -v ./services/practice-catalog/internal/app/ | grep 'precision@3 ='

# The production shape on loopback, with faults: the real binaries, three
# clustered NATS servers, FerretDB, two replicas of each service and two
# gateways, each its own process (deploy/devstack/cmd/topology). Bounded
# by its own -timeout; ends "topology: N scenarios, 0 lost, 0 duplicated".
test-topology: ## kill -9 NATS leaders, service replicas; stop the store; nothing acknowledged is lost
	go run ./deploy/devstack/cmd/topology -timeout 14m

test-unit:
	go test -count=1 -short $(PKGS)

# The deployment files: `make test` checks them in Go (deploy/check: the
# Compose specification, every Kubernetes manifest decoded strictly, the
# Dockerfile); this also runs Debian's docker-compose over the Compose
# file, installing it with apt when missing and allowed (root).
check-deploy: ## docker-compose config over deploy/compose, and the Go checks of deploy/
	@command -v docker-compose >/dev/null || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    DEBIAN_FRONTEND=noninteractive apt-get install -y docker-compose >/dev/null || \
	    { apt-get update >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y docker-compose >/dev/null; }; \
	  else echo "check-deploy needs Debian's docker-compose: sudo apt-get install -y docker-compose"; exit 1; fi; }
	docker-compose -f deploy/compose/compose.yaml config -q
	docker-compose -f deploy/compose/compose.yaml --profile mongo-test config -q
	@echo "deploy/compose: docker-compose $$(docker-compose version --short) accepts compose.yaml"
	go test -count=1 ./deploy/check/...

bench: ## ratio benchmarks; see README
	go run ./deploy/devstack/cmd/bench

$(BIN)/buf:
	go install github.com/bufbuild/buf/cmd/buf@$(BUF_VERSION)
$(BIN)/protoc-gen-go:
	go install google.golang.org/protobuf/cmd/protoc-gen-go@$(PROTOC_GEN_GO_VERSION)
$(BIN)/protoc-gen-go-grpc:
	go install google.golang.org/grpc/cmd/protoc-gen-go-grpc@$(PROTOC_GEN_GO_GRPC_VER)
$(BIN)/protoc-gen-grpc-gateway:
	go install github.com/grpc-ecosystem/grpc-gateway/v2/protoc-gen-grpc-gateway@$(GRPC_GATEWAY_VERSION)
$(BIN)/protoc-gen-openapiv2:
	go install github.com/grpc-ecosystem/grpc-gateway/v2/protoc-gen-openapiv2@$(GRPC_GATEWAY_VERSION)

tools: $(BIN)/buf $(BIN)/protoc-gen-go $(BIN)/protoc-gen-go-grpc $(BIN)/protoc-gen-grpc-gateway $(BIN)/protoc-gen-openapiv2

proto: tools ## regenerate the Go code and the OpenAPI document from proto/
	cd proto && find . -name '*.pb.go' -o -name '*.pb.gw.go' | xargs -r rm -f
	cd proto && $(BIN)/buf generate --exclude-path google

# Fails when the committed generated code is not what the sources produce.
proto-check: tools
	@tmp=$$(mktemp -d); cp -r proto "$$tmp/"; \
	(cd "$$tmp/proto" && find . -name '*.pb.go' -o -name '*.pb.gw.go' | xargs -r rm -f && \
	 sed 's#\.\./\.bin#$(BIN)#' buf.gen.yaml > buf.gen.check.yaml && \
	 $(BIN)/buf generate --exclude-path google --template buf.gen.check.yaml) || { rm -rf "$$tmp"; exit 1; }; \
	rm -f "$$tmp/proto/buf.gen.check.yaml"; \
	if ! diff -r -q proto "$$tmp/proto" >/dev/null; then \
	  diff -r proto "$$tmp/proto" | head -40; rm -rf "$$tmp"; \
	  echo "generated code in proto/ is stale: run 'make proto' and commit"; exit 1; fi; \
	rm -rf "$$tmp"; echo "proto: generated code is current"

vet:
	go vet $(PKGS)

fmt:
	gofmt -l -w $(MODULES)

lint: vet
	@out=$$(gofmt -l $(MODULES)); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

tidy:
	for m in $(MODULES); do (cd $$m && go mod tidy) || exit 1; done

clean-data: ## delete the local data of make run
	rm -rf .data
