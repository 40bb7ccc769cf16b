"""A tree of one target built once per architecture (`linux/<arch>`), for the engine tests of
several platforms: small enough to build in seconds, even under QEMU."""

from __future__ import annotations


def per_arch_bake(target: str, arch_list: str) -> str:
    """The bake file: ``target`` named `<target>--<arch>` for each arch of the JSON-array variable
    ``arch_list`` (amd64 alone by default)."""
    return f"""\
variable "{arch_list}" {{
  default = "[\\"amd64\\"]"
}}

function "elem" {{
  params = [prefix, dims]
  result = join("--", concat([prefix], dims))
}}

target "{target}" {{
  name       = elem("{target}", [arch])
  matrix     = {{ arch = jsondecode({arch_list}) }}
  context    = "."
  dockerfile = "Dockerfile"
  platforms  = ["linux/${{arch}}"]
}}
"""
