# Complement's test runner ("tester"), one per system of the matrix, on top of `system`.
# Uses the matrix variables, the Go settings and the elem/elem_tag/oci_labels functions of
# images/bake.hcl, so it is loaded together with it (`-f images/bake.hcl -f images/complement-tester.hcl`).

# Complement has no releases: a commit as the Go module proxy names it (pseudo-version). This one is the
# newest the proxy here serves (2024-09-25, commit 911d7d39773a); later ones answer 403.
variable "complement_version" {
  description = "Complement commit as a Go pseudo-version"
  default     = "v0.0.0-20240925142218-911d7d39773a"
  validation {
    condition     = can(regex("^v[0-9]+\\.[0-9]+\\.[0-9]+(-[0-9A-Za-z.]+)*-[0-9]{14}-[0-9a-f]{12}$", complement_version))
    error_message = "complement_version must be a Go pseudo-version such as v0.0.0-20240925142218-911d7d39773a, got: ${complement_version}"
  }
}

# The module's h1: hash (as in a go.sum). Set: the checksum database is skipped for Complement and this
# sum is checked instead; empty: the checksum database must know the version.
variable "complement_sum" {
  description = "h1: checksum of the Complement module zip, or empty to use the checksum database"
  default     = "h1:64Aetzo18EO9IguBa9RB3s0l5DDA7mjULlkzstFmBwM="
  validation {
    condition     = can(regex("^(h1:[A-Za-z0-9+/]{43}=)?$", complement_sum))
    error_message = "complement_sum must be empty or an h1: hash as in go.sum, got: ${complement_sum}"
  }
}

# Go build tags: the homeserver's blacklist, which also tells Complement which server it tests.
variable "complement_tags" {
  description = "Go build tags for the Complement test binaries"
  default     = "synapse_blacklist"
  validation {
    condition     = can(regex("^[A-Za-z0-9_.]+(,[A-Za-z0-9_.]+)*$", complement_tags))
    error_message = "complement_tags must be comma-separated Go build tags, got: ${complement_tags}"
  }
}

# Test packages compiled into the image, relative to the module root.
variable "complement_packages" {
  description = "space-separated Complement test packages to compile"
  default     = "./tests ./tests/csapi"
  validation {
    condition     = can(regex("^\\./tests(/[a-z0-9_]+)*( \\./tests(/[a-z0-9_]+)*)*$", complement_packages))
    error_message = "complement_packages must be space-separated ./tests/... package paths, got: ${complement_packages}"
  }
}

# Trixie image the compile stage starts from (Go comes from trixie-backports; see the Dockerfile).
variable "complement_go_base" {
  description = "Debian trixie image for compiling"
  default     = "debian:trixie-slim"
}

# Labels of the tester; its structure test is given the same (a build step can't read them).
function "tester_labels" {
  params = [sys_name, sys_version, sys_arch]
  result = merge(
    oci_labels("bakehouse complement tester: complement ${complement_version} (${complement_tags}, ${sys_name} ${sys_version} ${sys_arch})"),
    {
      "io.github.bakehouse.complement.version" = complement_version
      "io.github.bakehouse.complement.tags"    = complement_tags
    }
  )
}

target "complement-tester" {
  description = "Complement test binaries + test2json, loaded into the engine"
  name        = elem("complement-tester", [sys_name, sys_version, sys_arch])
  matrix = {
    sys_name    = distinct(jsondecode(sys_names))
    sys_version = distinct(jsondecode(sys_versions))
    sys_arch    = distinct(jsondecode(sys_archs))
  }
  platforms  = [sys_platform(sys_arch)]
  context    = "images"
  dockerfile = "Dockerfile.complement-tester"
  contexts = {
    input   = "target:${elem("system", [sys_name, sys_version, sys_arch])}"
    go_base = "docker-image://${complement_go_base}"
  }
  args = {
    complement_version  = complement_version
    complement_sum      = complement_sum
    complement_tags     = complement_tags
    complement_packages = complement_packages
    GOPROXY             = GOPROXY
    GOSUMDB             = GOSUMDB
    GONOSUMDB           = GONOSUMDB
    GOFLAGS             = GOFLAGS
  }
  labels = tester_labels(sys_name, sys_version, sys_arch)
  entitlements = ["network.host"]
  tags         = [elem_tag("complement-tester", [sys_name, sys_version, sys_arch])]
  output       = ["type=docker,compression=zstd"]
}

# Leaf: the tester's structure spec (images/structure/specs/complement-tester.yaml).
target "tests-structure-complement-tester" {
  description = "structure test of the Complement tester image"
  inherits    = ["_tests-structure"]
  name        = elem("tests-structure-complement-tester", [sys_name, sys_version, sys_arch])
  matrix = {
    sys_name    = distinct(jsondecode(sys_names))
    sys_version = distinct(jsondecode(sys_versions))
    sys_arch    = distinct(jsondecode(sys_archs))
  }
  platforms = [sys_platform(sys_arch)]
  contexts = {
    image = "target:${elem("complement-tester", [sys_name, sys_version, sys_arch])}"
  }
  args = {
    image_name       = elem("complement-tester", [sys_name, sys_version, sys_arch])
    image_spec       = "structure/specs/complement-tester.yaml"
    image_dockerfile = "Dockerfile.complement-tester"
    image_labels     = jsonencode(tester_labels(sys_name, sys_version, sys_arch))
  }
}
