# lambdawatch: build, test and run locally. `make help` lists the targets.
GO      ?= go
# Lambda architecture of the deployed bootstraps: arm64 (default) or x86_64.
ARCH    ?= arm64
GOARCH_arm64  := arm64
GOARCH_x86_64 := amd64
LAMBDA_GOARCH := $(GOARCH_$(ARCH))
FUNCTIONS := monitor slack audit
CDK_ARGS ?=

export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION ?= 20

.PHONY: help build cli bootstraps test test-libdeflate lint fuzz bench demo synth clean

help:
	@echo "make demo       run the pipeline locally over events/"
	@echo "make test       go vet and every test"
	@echo "make test-libdeflate  pkg/cloudtrail's tests built with libdeflate (cgo, Debian's libdeflate-dev)"
	@echo "make build      the CLI (bin/lambdawatch) and the Lambda bootstraps (build/ARCH/FUNCTION/bootstrap)"
	@echo "make lint       golangci-lint"
	@echo "make bench      scan time against zcat on a synthetic archive, and the Go benchmarks"
	@echo "make fuzz       every fuzz target for FUZZTIME (default 10s) each"
	@echo "make synth      cdk synth (extra context in CDK_ARGS)"

build: cli bootstraps

cli:
	$(GO) build -o bin/lambdawatch ./cmd/lambdawatch

# Each bootstrap sits alone in its folder: the folder is the Lambda asset.
bootstraps:
	@test -n "$(LAMBDA_GOARCH)" || { echo "ARCH must be arm64 or x86_64, not $(ARCH)"; exit 2; }
	@for f in $(FUNCTIONS); do \
		echo "build build/$(ARCH)/$$f/bootstrap"; \
		CGO_ENABLED=0 GOOS=linux GOARCH=$(LAMBDA_GOARCH) $(GO) build -tags lambda.norpc -trimpath \
			-ldflags "-s -w" -o build/$(ARCH)/$$f/bootstrap ./functions/$$f || exit 1; \
	done

test:
	$(GO) vet ./...
	$(GO) test ./...

# The -tags libdeflate build inflates with libdeflate (cgo). CGO_ENABLED=1,
# so that a machine without a C compiler fails rather than quietly testing
# the pure Go build.
test-libdeflate:
	CGO_ENABLED=1 $(GO) test -tags libdeflate ./pkg/cloudtrail/...

lint:
	$(GO) run github.com/golangci/golangci-lint/v2/cmd/golangci-lint@v2.15.0 run ./...

# Writes a synthetic archive (3,000 files, 150 MB) to build/bench unless
# it is there, times `lambdawatch scan` against single-threaded zcat on it
# and checks the prefilter changes no finding; then the Go benchmarks of
# judging, scanning and hunting.
bench: cli
	$(GO) run ./cmd/scanbench -dir build/bench -lambdawatch bin/lambdawatch
	$(GO) test -run '^$$' -bench . -benchtime 2s ./pkg/detect ./cmd/lambdawatch
	$(GO) test -run '^$$' -bench '^BenchmarkHunt$$' -benchtime 20x ./pkg/hunt

# Each fuzz target in turn; their seed corpora already run in `make test`.
# FUZZTIME is a duration (10s) or a count of inputs (10000x).
FUZZTIME ?= 10s
fuzz:
	@set -e; for pkg in $$($(GO) list ./pkg/... ./functions/... ./cmd/...); do \
		list=$$($(GO) test -list '^Fuzz' $$pkg) || exit 1; \
		for f in $$(echo "$$list" | grep '^Fuzz' || true); do \
			echo "fuzz $$f in $$pkg for $(FUZZTIME)"; \
			$(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) $$pkg; \
		done; \
	done

# Both functions under the Lambda emulator, SNS from goaws, a local Slack;
# loopback only. Function logs: build/demo/pipeline.log.
demo:
	$(GO) run ./cmd/demo -events events -trusted-accounts 444455556666 -org-id o-a1b2c3d4e5

synth:
	@case '$(CDK_ARGS)' in *architecture=*) echo "synth: choose the architecture with ARCH=$(ARCH), not in CDK_ARGS: ARCH also picks the bootstraps to build"; exit 2;; esac
	@test -x node_modules/.bin/cdk || npm ci --no-audit --no-fund
	@$(MAKE) --no-print-directory bootstraps ARCH=$(ARCH)
	node_modules/.bin/cdk synth --quiet -c architecture=$(ARCH) $(CDK_ARGS)

clean:
	rm -rf bin build cdk.out
