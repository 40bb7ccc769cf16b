# Complement's homeserver image ("testee"), one per matrix cell, on top of `install`.
# Uses the matrix variables and the elem/elem_tag/oci_labels functions of images/bake.hcl,
# so it is loaded together with it (`-f images/bake.hcl -f images/complement-testee.hcl`).
target "complement-testee" {
  name = elem("complement-testee", [sys_name, sys_version, feat_set])
  matrix = {
    sys_name    = distinct(jsondecode(sys_names))
    sys_version = distinct(jsondecode(sys_versions))
    feat_set    = distinct(jsondecode(feat_sets))
  }
  context    = "images"
  dockerfile = "Dockerfile.complement-testee"
  contexts = {
    input = "target:${elem("install", [sys_name, sys_version, feat_set])}"
  }
  labels = oci_labels("bakehouse complement testee: synapse ${synapse_version} (${sys_name} ${sys_version}, ${feat_set})")
  tags   = [elem_tag("complement-testee", [sys_name, sys_version, feat_set])]
  output = ["type=docker,compression=zstd"]
}
