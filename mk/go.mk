# Every Go build of a test tool (this file's go-build-module, mk/k8s.mk's go install and devstack's
# kube_build.py) compiles with one configuration: cgo off, no -trimpath, no DWARF. That
# configuration is part of the key of each compiled package in Go's build cache, so a dependency
# that two tools share at the same version (the standard library, golang.org/x, gRPC, ...) is
# compiled once on a cold machine instead of once per configuration (three before). No -trimpath
# rather than -trimpath everywhere: with it, `go version -m` would no longer show helm's -ldflags,
# which `make helm` checks. Nothing here reads symbols or DWARF (panics use the line table, which
# stays): the compiler writes no DWARF (~10% less compile CPU for the standard library here) and
# the linker leaves out the symbol table (-s -w: ~40% less link CPU for helm).
GO_BUILD_ENV := GOTOOLCHAIN=local CGO_ENABLED=0
GO_BUILD_FLAGS := -gcflags=all=-dwarf=false
GO_STRIP_LDFLAGS := -s -w

# Building a pinned Go program from the Go module proxy when `go install module@version` refuses it
# (its go.mod has replace directives, as Jaeger's and skaffold's do): the module is downloaded into
# Go's module cache and built in its own folder, with its version stamped in by -ldflags as its
# release build does. The binary is kept per version outside the clone
# (`${XDG_CACHE_HOME:-~/.cache}/tds/<name>/<version>`), so a new clone copies it instead of building
# again (tens of minutes on two busy cores); the copy in .local/bin is checked by what
# `<binary> version` prints.
#
# Arguments: 1 binary path (.local/bin/<name>), 2 module, 3 version, 4 package inside the module,
# 5 -ldflags (after -s -w), 6 text `<binary> version` prints for this version (grep -F).

define go-build-module
	@if ! { [ -x "$(1)" ] && "$(1)" version 2>/dev/null | grep -qF '$(6)'; }; then \
	  cached="$${XDG_CACHE_HOME:-$$HOME/.cache}/tds/$(notdir $(1))/$(3)/$(notdir $(1))"; \
	  if [ ! -x "$$cached" ]; then \
	    echo "building $(notdir $(1)) $(3) from the Go module proxy (cached afterwards)"; \
	    mkdir -p "$$(dirname "$$cached")"; \
	    src=$$(GOTOOLCHAIN=local $(GO) mod download -json $(2)@$(3) \
	      | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$$/\1/p'); \
	    [ -d "$$src" ] || { echo "go mod download gave no folder for $(2)" >&2; exit 1; }; \
	    (cd "$$src" && $(GO_BUILD_ENV) nice -n 10 $(GO) build $(GO_BUILD_FLAGS) \
	      -ldflags "$(GO_STRIP_LDFLAGS) $(5)" -o "$$cached.partial" ./$(4)) || exit 1; \
	    mv "$$cached.partial" "$$cached"; \
	  fi; \
	  mkdir -p "$(dir $(1))"; cp "$$cached" "$(1).partial" && mv "$(1).partial" "$(1)"; \
	fi
endef
