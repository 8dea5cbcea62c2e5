# Images built for real without a Docker engine: buildah (daemonless) on a base made from
# Debian's packages with debootstrap (the registry's python image cannot be pulled here). Not part
# of `make test` (a cold build downloads a Debian base and every image's dependencies: tens of
# minutes); the image-replay unit tests check the Dockerfile on every run instead.

.PHONY: images
images: install ## Build the five images with buildah on a Debian-built base, then run each one
	@command -v buildah >/dev/null 2>&1 && command -v debootstrap >/dev/null 2>&1 || { \
	  echo "installing buildah and debootstrap (Debian packages)"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
	    apt-get install -y -qq --no-install-recommends buildah debootstrap >/dev/null; }
	$(RUN) python -m devstack images $(IMAGES_ARGS)

IMAGES_ARGS ?=
