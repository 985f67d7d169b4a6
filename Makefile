# The interface to the project: every target a person or CI needs.
# The go that builds and tests: the one on PATH when it is at least the
# release go.mod names, else that release fetched from the Go module proxy
# into .toolchain/ by scripts/go-toolchain.sh (as go itself fetches
# toolchains). Tests run go too, so its directory leads PATH.
ifeq ($(origin GO),undefined)
GO := $(shell scripts/go-toolchain.sh $(CURDIR)/.toolchain)
ifeq ($(GO),)
$(error no go for go.mod: scripts/go-toolchain.sh failed, see above)
endif
export PATH := $(dir $(GO)):$(PATH)
export GOTOOLCHAIN := local
endif
VERSION  ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
# Who answers for the packages, "Name <mail>", and their URL: make packages
# MAINTAINER="Name <mail>" HOMEPAGE=https://... The relay keeps the
# maintainer for the client packages it writes. Unset, the packages take
# DEBFULLNAME <DEBEMAIL>, else git's user.name <user.email> (packaging/maintainer.go).
MAINTAINER ?=
HOMEPAGE   ?=
export MAINTAINER HOMEPAGE
LDFLAGS  := -s -w -X main.version=$(VERSION) $(if $(MAINTAINER),-X "tmate-relay/packaging.Maintainer=$(MAINTAINER)")
BIN      := bin/tmate-relay
DEV      := var
# Fuzz targets run briefly in `make test`; `make fuzz FUZZTIME=5m` runs longer.
FUZZTIME ?= 10s

.PHONY: all build run test deps tools unit e2e fuzz bench packages vet clean web-assets browser-deps corpus

all: build

build:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN) ./cmd/tmate-relay

# A relay on 127.0.0.1:10022 with a dev config and keys under ./var/;
# prints the tmate.conf a host on this machine can use as is.
run: build $(DEV)/relay.toml
	@$(BIN) keygen -c $(DEV)/relay.toml
	@echo "--- tmate.conf for a host on this machine ($(DEV)/tmate.conf): tmate -f $(DEV)/tmate.conf"
	@$(BIN) client-config -c $(DEV)/relay.toml | tee $(DEV)/tmate.conf
	@echo "---"
	$(BIN) serve -c $(DEV)/relay.toml

# Everything: installs the tools it needs, then unit, end-to-end and fuzz tests.
test: deps vet unit fuzz

# Installs what the tests drive for real: tmate (the host), tmux (the guest's
# terminal), OpenSSH (the guest), systemd's socket activation tool.
# etcd and HAProxy for the cluster tests, which start their own.
TOOLS := tmate:tmate tmux:tmux ssh:openssh-client ssh-keygen:openssh-client \
	systemd-socket-activate:systemd \
	lintian:lintian rpm:rpm rpmlint:rpmlint dnf:dnf createrepo_c:createrepo-c \
	debootstrap:debootstrap systemd-nspawn:systemd-container \
	less:less vi:vim-tiny tput:ncurses-bin \
	prometheus:prometheus promtool:prometheus \
	etcd:etcd-server etcdctl:etcd-client haproxy:haproxy \
	chromium:chromium \
	asciinema:asciinema
deps: tools
tools:
	@need=""; for t in $(TOOLS); do command -v $${t%%:*} >/dev/null 2>&1 || need="$$need $${t#*:}"; done; \
	if [ -n "$$need" ]; then \
		echo "installing:$$need"; \
		apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $$need; \
	fi

vet:
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); echo "gofmt needed"; exit 1; }
	$(GO) vet ./...

unit:
	$(GO) test -count=1 -timeout 15m ./...

# go test takes one -fuzz target per run: list them from the sources.
fuzz:
	@for dir in $$(grep -rl --include='*_test.go' '^func Fuzz' service | xargs -n1 dirname | sort -u); do \
		for target in $$(sed -n 's/^func \(Fuzz[A-Za-z0-9_]*\).*/\1/p' $$dir/*_test.go); do \
			echo "fuzz ./$$dir $$target ($(FUZZTIME))"; \
			$(GO) test -run '^$$' -fuzz "^$$target\$$" -fuzztime $(FUZZTIME) ./$$dir || exit 1; \
		done; \
	done

bench: build
	$(GO) test -run '^$$' -bench . -benchmem -count=1 -timeout 30m ./...

clean:
	rm -rf bin dist

# A development relay: loopback only, keys beside the config. Never overwritten.
$(DEV)/relay.toml:
	@mkdir -p $(DEV)
	@printf '%s\n' '# Development relay written by make run; edit freely.' \
		'[ssh]' 'listen = "127.0.0.1:10022"' 'advertise_host = "127.0.0.1"' \
		'advertise_port = 10022' 'host_keys_dir = "$(CURDIR)/$(DEV)/keys"' '' \
		'[web]' 'listen = "127.0.0.1:10081"' 'public_url = "http://127.0.0.1:10081"' '' \
		'[admin]' 'socket = "admin.sock"' > $@
	@echo "wrote $@"

# Records the vt corpus (service/vt/testdata/corpus) again from the real
# programs, with tmux's ground truth (scripts/record-corpus.sh); installs the
# programs first. Then take TestTmateConformance's reference again (go test
# ./service/vt -run TestTmateConformance -args -update) and review both diffs.
CORPUS      := service/vt/testdata/corpus
CORPUSTOOLS := tmux:tmux tput:ncurses-bin vim.tiny:vim-tiny less:less top:procps man:man-db \
	dialog:dialog nano:nano git:git
corpus:
	@$(MAKE) --no-print-directory tools TOOLS="$(CORPUSTOOLS)"
	scripts/record-corpus.sh $(CORPUS)

# The tmate-relay .deb (amd64, arm64) and .rpm (x86_64, aarch64) in dist/,
# built with nfpm as a Go library. The version is 0.1.0~gitDATE.HASH of HEAD;
# PKGVERSION=0.1.0 (or 0.1.0~rc1) overrides it; MAINTAINER and HOMEPAGE
# (above) reach the build through the environment.
packages:
	$(GO) run ./packaging/cmd/build -out dist $(if $(PKGVERSION),-version $(PKGVERSION))

# Only the packaging tests: lintian, rpmlint, rpm --root, and booted systemd
# containers (a debootstrapped bookworm root cached in var/packaging-test).
test-packages: deps
	$(GO) test -count=1 -v -timeout 15m ./packaging/...

# The browser guest's xterm.js and fit addon, and the recordings page's
# asciinema-player (its bundle holds solid-js), from the versions pinned in
# service/web/npm (package.json, package-lock.json), copied with their
# licences into service/web/assets/vendor, which is committed: go build
# needs no npm. Bump a version there, run this, review and commit.
WEBNPM    := service/web/npm
WEBVENDOR := service/web/assets/vendor
web-assets:
	cd $(WEBNPM) && npm ci --no-audit --no-fund
	mkdir -p $(WEBVENDOR)
	sed '/^\/\/# sourceMappingURL=/d' $(WEBNPM)/node_modules/@xterm/xterm/lib/xterm.js > $(WEBVENDOR)/xterm.js
	cp $(WEBNPM)/node_modules/@xterm/xterm/css/xterm.css $(WEBVENDOR)/xterm.css
	cp $(WEBNPM)/node_modules/@xterm/xterm/LICENSE $(WEBVENDOR)/LICENSE.xterm
	sed '/^\/\/# sourceMappingURL=/d' $(WEBNPM)/node_modules/@xterm/addon-fit/lib/addon-fit.js > $(WEBVENDOR)/addon-fit.js
	cp $(WEBNPM)/node_modules/@xterm/addon-fit/LICENSE $(WEBVENDOR)/LICENSE.addon-fit
	cp $(WEBNPM)/node_modules/asciinema-player/dist/bundle/asciinema-player.min.js $(WEBNPM)/node_modules/asciinema-player/dist/bundle/asciinema-player.css $(WEBVENDOR)/
	cp $(WEBNPM)/node_modules/asciinema-player/LICENSE $(WEBVENDOR)/LICENSE.asciinema-player
	cp $(WEBNPM)/node_modules/solid-js/LICENSE $(WEBVENDOR)/LICENSE.solid-js
	cd $(WEBNPM) && node -e 'for (const p of ["@xterm/xterm", "@xterm/addon-fit", "asciinema-player", "solid-js"]) { const j = JSON.parse(require("fs").readFileSync("node_modules/" + p + "/package.json")); console.log(j.name + " " + j.version + " (" + j.license + ")"); }' > ../assets/vendor/VERSIONS

# playwright-core for the browser end-to-end test (service/e2e/web_test.go),
# at the version pinned in its package-lock.json; it drives Debian's
# chromium, never a browser of its own.
BROWSERTEST := service/e2e/testdata/browser
TOOLS += npm:npm
browser-deps: tools
	cd $(BROWSERTEST) && npm ci --no-audit --no-fund
deps: browser-deps

# The load generator (cmd/tmate-relay-load, docs/capacity.md): not part of
# the packages. `make load` starts bin/tmate-relay with var/load/relay.toml
# (max_sessions raised, other limits as shipped) and drives it with
# LOAD_FLAGS; ADDR=HOST:PORT drives a relay already running instead.
LOAD_FLAGS ?= -sessions 100 -guests-per-session 1 -web-guests-per-session 1 -workload steady -duration 30s -json
.PHONY: load-build load
load-build: build
	CGO_ENABLED=0 $(GO) build -trimpath -o bin/tmate-relay-load ./cmd/tmate-relay-load

load: load-build
	scripts/load.sh $(LOAD_FLAGS)

# Every workload at each of CAPACITY_SESSIONS, one Markdown table
# (docs/capacity.md). Takes about 15 minutes for the default counts.
CAPACITY_SESSIONS ?= 500 1000 2000
.PHONY: capacity
capacity: load-build
	scripts/capacity.sh $(CAPACITY_SESSIONS)
