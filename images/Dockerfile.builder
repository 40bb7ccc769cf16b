# Build packages of one feature set (none for a feature set that compiles nothing); never part of
# the runtime image. What varies between builds is removed as in Dockerfile.base.
FROM input
ARG sys_name
ARG sys_version
ARG build_packages
RUN --network=host \
    --mount=type=cache,id=apt-archives-${sys_name}-${sys_version},target=/var/cache/apt,sharing=locked \
    --mount=type=cache,id=apt-lists-${sys_name}-${sys_version},target=/var/lib/apt/lists,sharing=locked \
    if [ -n "${build_packages}" ]; then \
      export DEBIAN_FRONTEND=noninteractive \
      && apt-get update -q \
      && apt-get install -y -q --no-install-recommends ${build_packages} \
      && rm -rf /var/log/apt/* /var/log/dpkg.log /var/log/alternatives.log \
           /var/cache/debconf/*-old /var/lib/dpkg/*-old /var/cache/ldconfig/aux-cache; \
    fi
