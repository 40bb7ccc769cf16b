# Generates the pip constraints file that pins the server's whole dependency set
# (images/constraints/synapse-<synapse_version>.txt, read by Dockerfile.venv and Dockerfile.deps).
# Not one of bake.files: run it by hand after changing synapse_version, from the repository root:
#
#   sys_versions='["trixie-slim","bookworm-slim"]' docker buildx bake --allow network.host \
#     -f images/bake.hcl -f images/constraints.hcl synapse-constraints
#   sort -u build/constraints/*/constraints.txt > images/constraints/synapse-<synapse_version>.txt
#
# Each system resolves on its own Python (trixie 3.13, bookworm 3.11); the union pins what either
# needs. A package the two resolved to different versions shows up twice: keep the version that
# installs on both, then check with `inv verify --matrix sys_version=bookworm-slim`.
target "synapse-constraints" {
  description = "pip constraints of the server with every extra (writes build/constraints/<version>--<arch>)"
  name        = elem("synapse-constraints", [sys_name, sys_version, sys_arch])
  matrix = {
    sys_name    = distinct(jsondecode(sys_names))
    sys_version = distinct(jsondecode(sys_versions))
    sys_arch    = distinct(jsondecode(sys_archs))
  }
  platforms  = [sys_platform(sys_arch)]
  context    = "images"
  dockerfile = "Dockerfile.constraints"
  contexts = {
    input = "target:${elem("base", [sys_name, sys_version, sys_arch])}"
  }
  args = {
    sys_name       = sys_name
    sys_version    = sys_version
    build_packages = feat_build_packages("postgres")
    requirement    = "matrix-synapse[postgres,sentry,url-preview]==${synapse_version}"
  }
  entitlements = ["network.host"]
  output       = ["type=local,dest=build/constraints/${sys_version}--${sys_arch}"]
}
