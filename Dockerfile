# The custom CoreDNS (CoreDNS 1.15.0 with flatten) as a container image, built the way CoreDNS's
# own image is: a static binary with cap_net_bind_service, on distroless, as a numeric non-root
# user. Build from the repository root (deploy/kubernetes/README.md: multi-arch build and push):
#
#   docker build --build-arg VERSION=1.15.0-flatten.1 --build-arg GIT_COMMIT=$(git rev-parse HEAD) \
#     -t REGISTRY/coredns-flatten:1.15.0-flatten.1 .
#
# VERSION is the image's tag and OCI version: the CoreDNS release it carries (go.mod's) and the
# build of flatten on it, COREDNS-flatten.N. kubeadm reads the cluster's CoreDNS version from this
# tag. GIT_COMMIT is the commit built (.git is not in the build context): `coredns -version` and
# coredns_build_info{revision} report it, as CoreDNS's Makefile does with `git describe`. The build
# refuses a missing commit, or a VERSION that names another CoreDNS than go.mod's.
#
# Base images are pinned by the digests of their multi-arch indexes, found published in other
# repositories' Dockerfiles pinned to the same tags (refresh with
# `docker buildx imagetools inspect IMAGE:TAG --format '{{.Manifest.Digest}}'`):
#   golang:1.27.2-bookworm: soollabs/holdmydocs, Dockerfile at 29f7710bf1d761c7b168c6df643005c92741af08
#   gcr.io/distroless/static-debian12:nonroot: kilo666mj/taskboard, Dockerfile at
#     18d1c89128e22523c4848ba9b0d7d252c79c4efa ("as of 2026-08-26" in another's comment)
# No digest of a golang:1.27.3 image was to be found, so the build stage runs the image's go
# command with GOTOOLCHAIN=go1.27.3, the patched release .ci/run uses: it fetches that toolchain
# from the Go module proxy and checks it against the Go checksum database before using it.
ARG GO_IMAGE=golang:1.27.2-bookworm@sha256:5cf287a799e6b94384bad13d16b14904c531f51ba65792237e122ce42b392f61
ARG BASE_NAME=gcr.io/distroless/static-debian12:nonroot
ARG BASE_DIGEST=sha256:afa5c872c891853ca7fcf1f12c3edb23f7eeef36189728842dd51042ff57f7ab

FROM --platform=$BUILDPLATFORM ${GO_IMAGE} AS build
ARG TARGETOS TARGETARCH
ARG VERSION GIT_COMMIT
ARG DEBIAN_FRONTEND=noninteractive
ENV GOTOOLCHAIN=go1.27.3
RUN apt-get -qq update \
    && apt-get -qq --no-install-recommends install libcap2-bin
WORKDIR /src
# Modules first, so that a change to the code does not download them again.
COPY go.mod go.sum ./
RUN go version && go mod download
# Check the build arguments: a commit, and VERSION=COREDNS-flatten.N with go.mod's CoreDNS.
RUN coredns=$(go list -m -f '{{.Version}}' github.com/coredns/coredns) && coredns=${coredns#v} \
    && if [ -z "$GIT_COMMIT" ]; then echo "set --build-arg GIT_COMMIT=\$(git rev-parse HEAD)" >&2; exit 1; fi \
    && case "$VERSION" in "$coredns"-flatten.*) n=${VERSION#"$coredns"-flatten.} ;; *) n= ;; esac \
    && case "$n" in '' | *[!0-9]*) echo "VERSION=$VERSION: want $coredns-flatten.N (the CoreDNS of go.mod)" >&2; exit 1 ;; esac
COPY . .
RUN CGO_ENABLED=0 GOOS=$TARGETOS GOARCH=$TARGETARCH \
    go build -trimpath -ldflags "-s -w -X github.com/coredns/coredns/coremain.GitCommit=$GIT_COMMIT" \
      -o /coredns ./cmd/coredns \
    && setcap cap_net_bind_service=+ep /coredns

FROM ${BASE_NAME}@${BASE_DIGEST}
ARG VERSION GIT_COMMIT BASE_NAME BASE_DIGEST
LABEL org.opencontainers.image.title="coredns-flatten" \
      org.opencontainers.image.description="CoreDNS with the flatten plugin: CNAME flattening and validation" \
      org.opencontainers.image.version="$VERSION" \
      org.opencontainers.image.revision="$GIT_COMMIT" \
      org.opencontainers.image.source="https://github.com/dnsflatten/flatten" \
      org.opencontainers.image.base.name="$BASE_NAME" \
      org.opencontainers.image.base.digest="$BASE_DIGEST"
COPY --from=build /coredns /coredns
# The numeric uid/gid of distroless's "nonroot": with runAsNonRoot set, Kubernetes can only verify
# a numeric user. The binary keeps cap_net_bind_service, so it still binds port 53.
USER 65532:65532
WORKDIR /
EXPOSE 53 53/udp 9153
ENTRYPOINT ["/coredns"]
