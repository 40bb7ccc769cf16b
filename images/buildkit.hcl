# BuildKit image for registry-free mode (docker-container builders use it when no image can be pulled).
# Self-contained on purpose: it must build with `-f images/buildkit.hcl` alone and whatever matrix the
# user selects, so its parent is the Debian base image itself, not the matrix `system` target.

# v0.33.1 is the newest release whose whole dependency graph the Go module proxy serves here: for
# v0.34.0-v0.34.2 it answers 403 "This module version is not available" for moby/policy-helpers,
# moby/profiles/seccomp v0.2.4, tonistiigi/go-actions-cache (and for v0.34.2 tonistiigi/fsutil).
variable "buildkit_version" {
  default = "v0.33.1"
}

variable "buildkit_image" {
  default = "bakehouse/buildkit:${buildkit_version}"
}

# The base image the BuildKit image starts from; it must be Debian trixie (Go and runc come from it).
variable "buildkit_base" {
  default = "debian:trixie-slim"
}

# Go settings of the host, passed by the runner as env vars. Also declared in images/bake.hcl; repeated
# here with the same defaults so this file builds on its own.
variable "GOPROXY" {
  default = ""
}
variable "GOSUMDB" {
  default = ""
}
variable "GONOSUMDB" {
  default = ""
}
variable "GOFLAGS" {
  default = ""
}

target "buildkit" {
  context    = "images"
  dockerfile = "Dockerfile.buildkit"
  contexts = {
    input = "docker-image://${buildkit_base}"
  }
  args = {
    buildkit_version = buildkit_version
    GOPROXY          = GOPROXY
    GOSUMDB          = GOSUMDB
    GONOSUMDB        = GONOSUMDB
    GOFLAGS          = GOFLAGS
  }
  labels = {
    "org.opencontainers.image.title"   = "buildkit"
    "org.opencontainers.image.version" = buildkit_version
    "org.opencontainers.image.source"  = "https://github.com/moby/buildkit"
  }
  entitlements = ["network.host"]
  tags         = [buildkit_image]
  output       = ["type=docker"]
}
