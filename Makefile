# cartflow — two commands for a newcomer: `make demo` and `make test`.
SWIFT      ?= swift
CONFIG     ?= debug
BIN        := .build/$(CONFIG)/cartflow
APT_PKGS   := libyaml-dev libsqlite3-dev libarchive-dev libmicrohttpd-dev pkg-config

.PHONY: deps build demo test bench fuzz format clean

# Installs only the Debian packages that are missing (needs root or sudo when something is missing).
deps:
	@missing=""; for p in $(APT_PKGS); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "install ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "deps: installing$$missing"; \
	  SUDO=""; [ "$$(id -u)" = 0 ] || SUDO=sudo; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing; \
	else echo "deps: all present"; fi

build: deps
	$(SWIFT) build -c $(CONFIG) --product cartflow

demo: build
	rm -rf out/demo
	$(BIN) run workflows/demo.yaml --sandbox --state out/demo/state.db

# The end-to-end tests run the built binary, so it is built first.
test: deps
	$(SWIFT) build --product cartflow
	$(SWIFT) build --build-tests
	$(SWIFT) test --skip-build

bench: deps
	bash bench/run.sh

format:
	$(SWIFT) format --in-place --recursive Sources Tests Package.swift

clean:
	rm -rf .build out
