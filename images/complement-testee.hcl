# Complement's homeserver image ("testee"), one per matrix cell, on top of `install`.
# Uses the matrix variables and the elem/elem_tag/oci_labels functions of images/bake.hcl,
# so it is loaded together with it (`-f images/bake.hcl -f images/complement-testee.hcl`).
# Labels of the testee; its structure test is given the same (a build step can't read them).
function "testee_labels" {
  params = [sys_name, sys_version, feat_set, sys_arch]
  result = oci_labels("bakehouse complement testee: synapse ${synapse_version} (${sys_name} ${sys_version} ${sys_arch}, ${feat_set})")
}

target "complement-testee" {
  name = elem("complement-testee", [sys_name, sys_version, feat_set, sys_arch])
  matrix = {
    sys_name    = distinct(jsondecode(sys_names))
    sys_version = distinct(jsondecode(sys_versions))
    feat_set    = distinct(jsondecode(feat_sets))
    sys_arch    = distinct(jsondecode(sys_archs))
  }
  platforms  = [sys_platform(sys_arch)]
  context    = "images"
  dockerfile = "Dockerfile.complement-testee"
  contexts = {
    input = "target:${elem("install", [sys_name, sys_version, feat_set, sys_arch])}"
  }
  labels = testee_labels(sys_name, sys_version, feat_set, sys_arch)
  tags   = [elem_tag("complement-testee", [sys_name, sys_version, feat_set, sys_arch])]
  output = ["type=docker,compression=zstd"]
}

# Leaf: the testee's structure spec (images/structure/specs/complement-testee.yaml).
target "tests-structure-complement-testee" {
  description = "structure test of the Complement testee image"
  inherits    = ["_tests-structure"]
  name        = elem("tests-structure-complement-testee", [sys_name, sys_version, feat_set, sys_arch])
  matrix = {
    sys_name    = distinct(jsondecode(sys_names))
    sys_version = distinct(jsondecode(sys_versions))
    feat_set    = distinct(jsondecode(feat_sets))
    sys_arch    = distinct(jsondecode(sys_archs))
  }
  platforms = [sys_platform(sys_arch)]
  contexts = {
    image = "target:${elem("complement-testee", [sys_name, sys_version, feat_set, sys_arch])}"
  }
  args = {
    image_name       = elem("complement-testee", [sys_name, sys_version, feat_set, sys_arch])
    image_spec       = "structure/specs/complement-testee.yaml"
    image_dockerfile = "Dockerfile.complement-testee"
    image_labels     = jsonencode(testee_labels(sys_name, sys_version, feat_set, sys_arch))
  }
}
