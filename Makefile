# xdplab. `sudo make demo` installs what a fresh machine lacks and runs every
# lab; `sudo make test` runs the whole test suite.

# sudo resets PATH, which usually drops Go's directory: look for it there too.
GO ?= $(shell command -v go 2>/dev/null || echo /usr/local/go/bin/go)
BIN := bin/xdplab
PKGS := ./...

# No cgo anywhere: libpcap is loaded at run time (purego), so builds, tests
# and vet need no C compiler or headers, and tests run the code path the
# shipped binary runs.
export CGO_ENABLED := 0

# Clang flags for the BPF objects, passed to bpf2go through $BPF_CFLAGS
# (gen.go files name no machine's paths): Debian and Ubuntu keep asm/ in
# the multiarch include dir, x86_64-linux-gnu or aarch64-linux-gnu.
ARCH_INCLUDE := /usr/include/$(shell uname -m)-linux-gnu
BPF_CFLAGS := -I$(ARCH_INCLUDE) -mcpu=v3
# The headers the programs include, xdplab's own (xdplab/*.h) and libbpf's
# (bpf/*.h, vendored): no libbpf-dev needed. gen.go files name it relative
# to their lab's folder (../../bpf/include).
BPF_INCLUDE := bpf/include

# Release targets: CGO_ENABLED=0 cross-builds, no C toolchain; the binaries
# name no shared library but glibc (libpcap is opened at run time).
RELEASE_ARCHES := amd64 arm64
DIST := dist

.PHONY: all build release deps demo test bench generate lint install clean

all: build

# Stripped (-s -w): a smaller binary starts about 1 ms faster, and every
# xdplab command is a new process. Panics still print symbolized stacks.
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo devel)
LDFLAGS := -s -w -X main.version=$(VERSION)
# urfave_cli_no_docs leaves out urfave/cli's man page and markdown writers,
# which xdplab never calls, and with them blackfriday's init: about 0.4 ms
# off every start (docs/benchmarks.md, start time).
TAGS := urfave_cli_no_docs

# The file the Go linker writes (through mmap) starts about 0.9 ms slower,
# while it stays in the page cache, than a copy of it, as `make install` or a
# download makes (measured): bin/xdplab is such a copy. A rename, so a running
# bin/xdplab is not overwritten.
build:
	$(GO) build -tags $(TAGS) -ldflags "$(LDFLAGS)" -o $(BIN).link ./cmd/xdplab
	cp $(BIN).link $(BIN).copy && mv -f $(BIN).copy $(BIN) && rm -f $(BIN).link

# dist/xdplab-linux-ARCH for every release arch, stamped with VERSION, and
# SHA256SUMS to check a download with `sha256sum -c SHA256SUMS`.
release:
	rm -rf $(DIST) && mkdir -p $(DIST)
	for arch in $(RELEASE_ARCHES); do \
		CGO_ENABLED=0 GOOS=linux GOARCH=$$arch $(GO) build -trimpath -tags $(TAGS) -ldflags "$(LDFLAGS)" -o $(DIST)/xdplab-linux-$$arch ./cmd/xdplab || exit 1; \
	done
	cd $(DIST) && sha256sum xdplab-linux-* > SHA256SUMS

deps:
	bash scripts/provision.sh

# Everything a newcomer needs: install what is missing, build and install
# xdplab (the README's learner path runs `xdplab` from PATH), then every lab
# up, checked, down.
demo: deps install
	./$(BIN) run --all

# Privileged tests fail instead of skipping here: this target runs as root.
test: deps
	XDPLAB_REQUIRE_PRIVILEGED=1 $(GO) test -count=1 -timeout 40m $(PKGS)

# Benchmarks report, they never assert; the report goes to docs/benchmarks.md.
bench: deps build
	$(GO) run ./internal/benchreport -out docs/benchmarks.md

# bpf2go output and the test objects (every testdata/*.c) are committed so
# `go build` and `go test` need no clang; CI checks that regenerating them
# changes nothing.
generate:
	BPF_CFLAGS="$(BPF_CFLAGS)" $(GO) generate ./labs/... ./internal/...
	for c in $$(find * -path '*/testdata/*.c' | sort); do \
		clang -O2 -g -target bpf -fdebug-compilation-dir=. -I$(BPF_INCLUDE) $(BPF_CFLAGS) -c $$c -o $${c%.c}.o || exit 1; \
	done

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet $(PKGS)

# The binary, and a man page per command (xdplab(1), xdplab-up(1), ...)
# that the binary writes from its own command definitions: no network and
# no tool a fresh machine lacks.
PREFIX ?= /usr/local
MANDIR ?= $(PREFIX)/share/man/man1

install: build
	install -d $(PREFIX)/bin $(MANDIR)
	install -m 0755 $(BIN) $(PREFIX)/bin/xdplab
	rm -rf $(BIN).man && $(BIN) __man $(BIN).man
	install -m 0644 $(BIN).man/*.1 $(MANDIR)/
	rm -rf $(BIN).man

clean:
	rm -rf bin $(DIST)
