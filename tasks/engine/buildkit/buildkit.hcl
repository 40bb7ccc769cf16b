# BuildKit image for registry-free mode (docker-container builders use it when no image can be pulled).
# Shipped inside the bakehouse package (tasks/engine/buildkit/) and baked on its own by `inv engine.up`
# from this directory, whatever project bakehouse runs for; so its parent is the Debian base image
# itself, not a target of any project's tree.

# v0.33.1 is the newest release whose whole dependency graph the Go module proxy serves here: for
# v0.34.0-v0.34.2 it answers 403 "This module version is not available" for moby/policy-helpers,
# moby/profiles/seccomp v0.2.4, tonistiigi/go-actions-cache (and for v0.34.2 tonistiigi/fsutil).
variable "buildkit_version" {
  description = "release of the Go module github.com/moby/buildkit"
  default     = "v0.33.1"
  validation {
    condition     = can(regex("^v[0-9]+\\.[0-9]+\\.[0-9]+$", buildkit_version))
    error_message = "buildkit_version must be a release such as v0.33.1, got: ${buildkit_version}"
  }
}

variable "buildkit_image" {
  description = "tag of the BuildKit image in the engine's store"
  default     = "bakehouse/buildkit:${buildkit_version}"
}

# The base image the BuildKit image starts from; it must be Debian trixie (Go and runc come from it).
variable "buildkit_base" {
  description = "Debian trixie image the BuildKit image starts from"
  default     = "debian:trixie-slim"
}

# Go settings of the host, passed by the runner as env vars (images/bake.hcl declares them too).
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

target "buildkit" {
  description = "BuildKit image (buildkitd + buildctl) for docker-container builders, loaded into the engine"
  context    = "."
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

# The Dockerfile frontend image registry-free mode serves as docker/dockerfile:<tag> (`inv engine.up`,
# and `inv build` for a tree whose Dockerfiles start with `# syntax=docker/dockerfile:…`). Built from the
# same module release as BuildKit; the Dockerfile syntax version that release's frontend implements is
# pinned beside it and checked against the module when building.
variable "dockerfile_syntax" {
  description = "Dockerfile syntax version of the frontend in buildkit_version (frontend/dockerfile/version)"
  default     = "1.27"
  validation {
    condition     = can(regex("^[0-9]+\\.[0-9]+$", dockerfile_syntax))
    error_message = "dockerfile_syntax must be a version such as 1.27, got: ${dockerfile_syntax}"
  }
}

variable "dockerfile_frontend_image" {
  description = "tag of the Dockerfile frontend image in the engine's store"
  default     = "bakehouse/dockerfile-frontend:${dockerfile_syntax}"
}

target "dockerfile-frontend" {
  description = "Dockerfile frontend image (served as docker/dockerfile:<tag> from the local registry)"
  inherits    = ["buildkit"]
  target      = "dockerfile-frontend"
  args = {
    dockerfile_syntax = dockerfile_syntax
  }
  labels = {
    "org.opencontainers.image.title"   = "dockerfile-frontend"
    "org.opencontainers.image.version" = dockerfile_syntax
  }
  tags = [dockerfile_frontend_image]
}
