# The custom CoreDNS (CoreDNS 1.15.0 with flatten) as a container image, built the way CoreDNS's
# own image is: a static binary with cap_net_bind_service, on distroless, as a numeric non-root
# user. Build from the repository root:
#
#   docker build -t REGISTRY/coredns-flatten:TAG .
#
# GO_IMAGE is the Go toolchain the binary is built with: keep it at the patched release .ci/run
# uses (go1.26.8 has known vulnerabilities in the standard library).
ARG GO_IMAGE=golang:1.27.3-bookworm
ARG BASE=gcr.io/distroless/static-debian12:nonroot

FROM --platform=$BUILDPLATFORM ${GO_IMAGE} AS build
ARG TARGETOS TARGETARCH
ARG DEBIAN_FRONTEND=noninteractive
RUN apt-get -qq update \
    && apt-get -qq --no-install-recommends install libcap2-bin
WORKDIR /src
# Modules first, so that a change to the code does not download them again.
COPY go.mod go.sum ./
RUN go mod download
COPY . .
# GOTOOLCHAIN=local: build with the image's toolchain, never a downloaded one.
RUN CGO_ENABLED=0 GOOS=$TARGETOS GOARCH=$TARGETARCH GOTOOLCHAIN=local \
    go build -trimpath -ldflags "-s -w" -o /coredns ./cmd/coredns \
    && setcap cap_net_bind_service=+ep /coredns

FROM ${BASE}
COPY --from=build /coredns /coredns
# The numeric uid/gid of distroless's "nonroot": with runAsNonRoot set, Kubernetes can only verify
# a numeric user. The binary keeps cap_net_bind_service, so it still binds port 53.
USER 65532:65532
WORKDIR /
EXPOSE 53 53/udp 9153
ENTRYPOINT ["/coredns"]
