# The core bake tree: one root (`system`), one chain of layers per matrix cell, leaves on top.
#
#   system --> base --+--> venv -------+
#                     +--> builder --> deps --> install --> tests-smoke
#                     +------------------------^
#
# Paths are relative to the directory bake runs in: the repository root.
# Layers depend only on the dimensions named in their `elem(...)` call, so cells that share
# a system share system/base/venv (the server install); only builder/deps/install/tests-smoke
# repeat per feature set, and builder runs beside venv, not after it.

# ---------------------------------------------------------------------------------------------
# Matrix dimensions: JSON arrays in strings (bake reads variables from env of the same name).
# ---------------------------------------------------------------------------------------------

variable "sys_names" {
  description = "JSON array: distributions (matrix dimension)"
  default     = "[\"debian\"]"
  validation {
    condition     = length(try(concat(jsondecode(sys_names), []), [])) > 0 && can(join(",", jsondecode(sys_names)))
    error_message = "sys_names must be a non-empty JSON array of strings, got: ${sys_names}"
  }
  validation {
    condition     = length(try(setsubtract(jsondecode(sys_names), ["debian"]), [])) == 0
    error_message = "sys_names: unsupported ${jsonencode(try(setsubtract(jsondecode(sys_names), ["debian"]), []))}; the tree supports: debian"
  }
}

variable "sys_versions" {
  description = "JSON array: distribution image tags (matrix dimension)"
  default     = "[\"trixie-slim\"]"
  validation {
    condition     = length(try(concat(jsondecode(sys_versions), []), [])) > 0 && can(join(",", jsondecode(sys_versions)))
    error_message = "sys_versions must be a non-empty JSON array of strings, got: ${sys_versions}"
  }
  validation {
    condition     = length(try(setsubtract(jsondecode(sys_versions), ["trixie-slim", "bookworm-slim"]), [])) == 0
    error_message = "sys_versions: unsupported ${jsonencode(try(setsubtract(jsondecode(sys_versions), ["trixie-slim", "bookworm-slim"]), []))}; the tree supports: trixie-slim, bookworm-slim"
  }
}

# The CPU architectures: each cell builds for one platform (sys_platform below). Every target of a cell
# sets it: buildx 0.29 does not carry a `target:` context's platform over to the target using it (a
# layer without `platforms` builds for the builder's own platform on top of the arm64 parent, and its
# image claims amd64). Keep the list in this validation in step with the keys of sys_platform.
variable "sys_archs" {
  description = "JSON array: CPU architectures (matrix dimension)"
  default     = "[\"amd64\"]"
  validation {
    condition     = length(try(concat(jsondecode(sys_archs), []), [])) > 0 && can(join(",", jsondecode(sys_archs)))
    error_message = "sys_archs must be a non-empty JSON array of strings, got: ${sys_archs}"
  }
  validation {
    condition     = length(try(setsubtract(jsondecode(sys_archs), ["amd64", "arm64"]), [])) == 0
    error_message = "sys_archs: unsupported ${jsonencode(try(setsubtract(jsondecode(sys_archs), ["amd64", "arm64"]), []))}; the tree supports: amd64, arm64"
  }
}

# Keep the list in this validation in step with the keys of the feat_* functions below.
variable "feat_sets" {
  description = "JSON array: feature sets, i.e. pip extras of the server (matrix dimension)"
  default     = "[\"default\"]"
  validation {
    condition     = length(try(concat(jsondecode(feat_sets), []), [])) > 0 && can(join(",", jsondecode(feat_sets)))
    error_message = "feat_sets must be a non-empty JSON array of strings, got: ${feat_sets}"
  }
  validation {
    condition     = length(try(setsubtract(jsondecode(feat_sets), ["default", "postgres", "sentry"]), [])) == 0
    error_message = "feat_sets: unsupported ${jsonencode(try(setsubtract(jsondecode(feat_sets), ["default", "postgres", "sentry"]), []))}; the tree supports: default, postgres, sentry"
  }
}

# ---------------------------------------------------------------------------------------------
# Common variables (the runner passes them; all layers of all bake files may use them).
# ---------------------------------------------------------------------------------------------

# Parallelism hint for compiling layers (`--set *.args.nprocs=N`).
variable "nprocs" {
  description = "parallel jobs for compiling layers"
  default     = "1"
}

# OCI labels of exported images; empty values are left out.
variable "git_version" {
  description = "OCI label org.opencontainers.image.version"
  default     = ""
}
variable "git_revision" {
  description = "OCI label org.opencontainers.image.revision"
  default     = ""
}
variable "git_created" {
  description = "OCI label org.opencontainers.image.created (RFC 3339)"
  default     = ""
}

# The host's Go settings, for layers that download Go modules.
variable "GOPROXY" {
  description = "host Go setting for module downloads"
  default     = ""
}
variable "GOSUMDB" {
  description = "host Go setting for module downloads"
  default     = ""
}
variable "GONOSUMDB" {
  description = "host Go setting for module downloads"
  default     = ""
}
variable "GOFLAGS" {
  description = "host Go setting for builds"
  default     = ""
}

# The homeserver release installed from PyPI.
variable "synapse_version" {
  description = "matrix-synapse release installed from PyPI"
  default     = "1.163.2"
  validation {
    condition     = can(regex("^[0-9]+\\.[0-9]+\\.[0-9]+([a-z]+[0-9]+)?$", synapse_version))
    error_message = "synapse_version must be a release number such as 1.163.2, got: ${synapse_version}"
  }
}

# The whole dependency set of that release, pinned (a file in images/constraints/, generated by
# images/constraints.hcl): a cold build on another day installs the same wheels.
variable "synapse_constraints" {
  description = "pip constraints file in images/constraints/ for synapse_version"
  default     = "synapse-${synapse_version}.txt"
}

# ---------------------------------------------------------------------------------------------
# Functions
# ---------------------------------------------------------------------------------------------

# Target/image name of a layer: prefix--d1--d2... with only the dims the layer depends on.
function "elem" {
  params = [prefix, dims]
  result = join("--", concat([prefix], [for d in dims : regex_replace(d, "[^a-zA-Z0-9_-]", "_")]))
}

# The platform a cell builds for (OCI os/arch[/variant]), from its architecture.
function "sys_platform" {
  params = [sys_arch]
  result = lookup({ amd64 = "linux/amd64", arm64 = "linux/arm64" }, sys_arch, "")
}

# Image reference for a layer that is exported to the engine.
function "elem_tag" {
  params = [prefix, dims]
  result = "bakehouse/${lower(elem(prefix, dims))}:latest"
}

# OCI labels from git, without the empty ones.
function "oci_labels" {
  params = [title]
  result = {
    for k, v in {
      "org.opencontainers.image.title"    = title
      "org.opencontainers.image.version"  = git_version
      "org.opencontainers.image.revision" = git_revision
      "org.opencontainers.image.created"  = git_created
    } : k => v if v != ""
  }
}

# Labels of the runtime image; its structure test is given the same (a build step can't read them).
function "install_labels" {
  params = [sys_name, sys_version, feat_set, sys_arch]
  result = oci_labels("bakehouse synapse ${synapse_version} (${sys_name} ${sys_version} ${sys_arch}, ${feat_set})")
}

# pip extras of a feature set.
function "feat_pip_extras" {
  params = [feat_set]
  result = lookup({ default = "", postgres = "[postgres]", sentry = "[sentry]" }, feat_set, "")
}

# Debian packages a feature set needs to compile its Python dependencies ("" = nothing compiles).
function "feat_build_packages" {
  params = [feat_set]
  result = lookup({ default = "", postgres = "gcc libc6-dev libpq-dev python3-dev" }, feat_set, "")
}

# Python modules the smoke test imports to prove a feature set's runtime libraries are present.
function "feat_smoke_imports" {
  params = [feat_set]
  result = lookup({ default = "", postgres = "psycopg2", sentry = "sentry_sdk" }, feat_set, "")
}

# ---------------------------------------------------------------------------------------------
# Groups
# ---------------------------------------------------------------------------------------------

group "default" {
  description = "runtime images, smoke and structure tests"
  targets     = ["install", "tests-smoke", "tests-structure-install"]
}

group "smoke" {
  description = "smoke tests"
  targets     = ["tests-smoke"]
}

group "tests" {
  description = "all tests"
  targets     = ["tests-smoke", "tests-structure"]
}

# A structure spec per image (images/structure/specs/), checked in a build step against the image.
# The complement ones are defined beside their images (images/complement-*.hcl).
group "tests-structure" {
  description = "structure tests of every image"
  targets     = ["tests-structure-install", "tests-structure-complement-testee", "tests-structure-complement-tester"]
}

# Targets defined in images/complement-tester.hcl and images/complement-testee.hcl.
group "complement" {
  description = "Complement tester and testee images"
  targets     = ["complement-tester", "complement-testee"]
}

# ---------------------------------------------------------------------------------------------
# Targets
# ---------------------------------------------------------------------------------------------

# Root: the distribution image, with apt set up for cache mounts.
target "system" {
  description = "distribution image with apt set up for cache mounts"
  name        = elem("system", [sys_name, sys_version, sys_arch])
  matrix = {
    sys_name    = distinct(jsondecode(sys_names))
    sys_version = distinct(jsondecode(sys_versions))
    sys_arch    = distinct(jsondecode(sys_archs))
  }
  platforms  = [sys_platform(sys_arch)]
  context    = "images"
  dockerfile = "Dockerfile.system"
  args = {
    sys_name    = sys_name
    sys_version = sys_version
  }
  output = ["type=cacheonly"]
}

# Runtime packages every feature set needs (libpq5 is small and saves a per-feature-set layer).
target "base" {
  description = "runtime packages"
  name        = elem("base", [sys_name, sys_version, sys_arch])
  matrix = {
    sys_name    = distinct(jsondecode(sys_names))
    sys_version = distinct(jsondecode(sys_versions))
    sys_arch    = distinct(jsondecode(sys_archs))
  }
  platforms  = [sys_platform(sys_arch)]
  context    = "images"
  dockerfile = "Dockerfile.base"
  contexts = {
    input = "target:${elem("system", [sys_name, sys_version, sys_arch])}"
  }
  args = {
    sys_name         = sys_name
    sys_version      = sys_version
    runtime_packages = "ca-certificates libpq5 python3 python3-venv"
  }
  entitlements = ["network.host"]
  output       = ["type=cacheonly"]
}

# The server's venv, once per system: every feature set starts from it. It holds the server with
# its `url-preview` extra (beautifulsoup4), as Synapse's own image ships it: without it a server
# configured with url_preview_enabled refuses to start, and the Complement testee (one per feature
# set) enables previews for TestUrlPreview.
target "venv" {
  description = "venv with the pinned server, shared by the feature sets of one system"
  name        = elem("venv", [sys_name, sys_version, sys_arch])
  matrix = {
    sys_name    = distinct(jsondecode(sys_names))
    sys_version = distinct(jsondecode(sys_versions))
    sys_arch    = distinct(jsondecode(sys_archs))
  }
  platforms  = [sys_platform(sys_arch)]
  context    = "images"
  dockerfile = "Dockerfile.venv"
  contexts = {
    input = "target:${elem("base", [sys_name, sys_version, sys_arch])}"
  }
  args = {
    sys_name    = sys_name
    sys_version = sys_version
    requirement = "matrix-synapse[url-preview]==${synapse_version}"
    constraints = synapse_constraints
  }
  entitlements = ["network.host"]
  output       = ["type=cacheonly"]
}

# Build packages: a compiler and headers where the feature set compiles (nothing otherwise).
target "builder" {
  description = "build packages of the feature set"
  name        = elem("builder", [sys_name, sys_version, feat_set, sys_arch])
  matrix = {
    sys_name    = distinct(jsondecode(sys_names))
    sys_version = distinct(jsondecode(sys_versions))
    feat_set    = distinct(jsondecode(feat_sets))
    sys_arch    = distinct(jsondecode(sys_archs))
  }
  platforms  = [sys_platform(sys_arch)]
  context    = "images"
  dockerfile = "Dockerfile.builder"
  contexts = {
    input = "target:${elem("base", [sys_name, sys_version, sys_arch])}"
  }
  args = {
    sys_name       = sys_name
    sys_version    = sys_version
    build_packages = feat_build_packages(feat_set)
  }
  entitlements = ["network.host"]
  output       = ["type=cacheonly"]
}

# The feature set's venv: the system's server venv plus the feature set's extras.
target "deps" {
  description = "venv with the pinned server and the feature set extras"
  name        = elem("deps", [sys_name, sys_version, feat_set, sys_arch])
  matrix = {
    sys_name    = distinct(jsondecode(sys_names))
    sys_version = distinct(jsondecode(sys_versions))
    feat_set    = distinct(jsondecode(feat_sets))
    sys_arch    = distinct(jsondecode(sys_archs))
  }
  platforms  = [sys_platform(sys_arch)]
  context    = "images"
  dockerfile = "Dockerfile.deps"
  contexts = {
    input = "target:${elem("builder", [sys_name, sys_version, feat_set, sys_arch])}"
    venv  = "target:${elem("venv", [sys_name, sys_version, sys_arch])}"
  }
  args = {
    sys_name    = sys_name
    sys_version = sys_version
    requirement = "matrix-synapse${feat_pip_extras(feat_set)}==${synapse_version}"
    constraints = synapse_constraints
  }
  entitlements = ["network.host"]
  output       = ["type=cacheonly"]
}

# The runtime image: base + the venv, non-root. Loaded into the engine's image store.
target "install" {
  description = "runtime image, loaded into the engine"
  name        = elem("install", [sys_name, sys_version, feat_set, sys_arch])
  matrix = {
    sys_name    = distinct(jsondecode(sys_names))
    sys_version = distinct(jsondecode(sys_versions))
    feat_set    = distinct(jsondecode(feat_sets))
    sys_arch    = distinct(jsondecode(sys_archs))
  }
  platforms  = [sys_platform(sys_arch)]
  context    = "images"
  dockerfile = "Dockerfile.install"
  contexts = {
    input = "target:${elem("base", [sys_name, sys_version, sys_arch])}"
    deps  = "target:${elem("deps", [sys_name, sys_version, feat_set, sys_arch])}"
  }
  labels = install_labels(sys_name, sys_version, feat_set, sys_arch)
  tags   = [elem_tag("install", [sys_name, sys_version, feat_set, sys_arch])]
  # No rewrite-timestamp here: it rewrites every layer on every export, cached or not (3 s of a
  # no-op build). The builds that promise bit-for-bit images (inv publish, export, verify) set their
  # own outputs with rewrite-timestamp=true, clamping file mtimes to SOURCE_DATE_EPOCH.
  output = ["type=docker,compression=zstd"]
}

# Structure tests (images/Dockerfile.tests-structure): what the targets inheriting this share.
# The Go toolchain stage starts from the same image as Complement's compile stage, so it is one
# cached layer for both.
variable "structure_go_base" {
  description = "Debian trixie image the structure-test runner is compiled in"
  default     = "debian:trixie-slim"
}

target "_tests-structure" {
  context    = "images"
  dockerfile = "Dockerfile.tests-structure"
  contexts = {
    go_base = "docker-image://${structure_go_base}"
  }
  args = {
    GOPROXY   = GOPROXY
    GOSUMDB   = GOSUMDB
    GONOSUMDB = GONOSUMDB
    GOFLAGS   = GOFLAGS
  }
  entitlements = ["network.host"]
  output       = ["type=cacheonly"]
}

# Leaf: the runtime image's structure spec (images/structure/specs/install.yaml).
target "tests-structure-install" {
  description = "structure test of the runtime image"
  inherits    = ["_tests-structure"]
  name        = elem("tests-structure-install", [sys_name, sys_version, feat_set, sys_arch])
  matrix = {
    sys_name    = distinct(jsondecode(sys_names))
    sys_version = distinct(jsondecode(sys_versions))
    feat_set    = distinct(jsondecode(feat_sets))
    sys_arch    = distinct(jsondecode(sys_archs))
  }
  platforms = [sys_platform(sys_arch)]
  contexts = {
    image = "target:${elem("install", [sys_name, sys_version, feat_set, sys_arch])}"
  }
  args = {
    image_name       = elem("install", [sys_name, sys_version, feat_set, sys_arch])
    image_spec       = "structure/specs/install.yaml"
    image_dockerfile = "Dockerfile.install"
    image_labels     = jsonencode(install_labels(sys_name, sys_version, feat_set, sys_arch))
  }
}

# Leaf: starts the server once and exercises registration and login; fails the build otherwise.
target "tests-smoke" {
  description = "starts the server, registers and logs in a user"
  name        = elem("tests-smoke", [sys_name, sys_version, feat_set, sys_arch])
  matrix = {
    sys_name    = distinct(jsondecode(sys_names))
    sys_version = distinct(jsondecode(sys_versions))
    feat_set    = distinct(jsondecode(feat_sets))
    sys_arch    = distinct(jsondecode(sys_archs))
  }
  platforms  = [sys_platform(sys_arch)]
  context    = "images"
  dockerfile = "Dockerfile.tests-smoke"
  contexts = {
    input = "target:${elem("install", [sys_name, sys_version, feat_set, sys_arch])}"
  }
  args = {
    smoke_imports = feat_smoke_imports(feat_set)
  }
  output = ["type=cacheonly"]
}
