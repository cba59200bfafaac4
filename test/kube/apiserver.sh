#!/usr/bin/env bash
# Builds kube-apiserver from the Go module proxy for the Kubernetes end-to-end tests, once per
# version, and prints the binary's path. Debian has no kube-apiserver package, and
# k8s.io/kubernetes cannot be built with `go install pkg@version` (its go.mod points the staging
# repositories at local folders), so a small module of our own requires it and replaces each
# staging repository with its published version.
#
#   test/kube/apiserver.sh            build if needed, print the path
#   KUBE_VERSION=1.37.1 CACHE=DIR ... another version or cache folder
set -euo pipefail

version=${KUBE_VERSION:-1.37.1} # matches the client-go (v0.37.1) CoreDNS 1.15.0 is built with
cache=${CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/flatten}
bin="$cache/kube-apiserver-v$version"
if [ -x "$bin" ]; then
  echo "$bin"
  exit 0
fi

mod=$(mktemp -d)
trap 'rm -rf "$mod"' EXIT
cd "$mod"
dir=$(go mod download -json "k8s.io/kubernetes@v$version" | sed -n 's/.*"Dir": "\(.*\)",/\1/p')
[ -n "$dir" ] || { echo "k8s.io/kubernetes@v$version is not on the module proxy" >&2; exit 1; }
{
  echo "module kubeapiserver"
  echo
  echo "go 1.26"
  echo
  echo "require k8s.io/kubernetes v$version"
  # One line per staging repository: k8s.io/api => k8s.io/api v0.37.1, and so on.
  grep -E '^\s*k8s.io/[a-z0-9-]+ => ./staging' "$dir/go.mod" |
    awk -v v="v0.${version#1.}" '{print "replace " $1 " => " $1 " " v}'
} > go.mod
printf 'package main\n\nimport _ "k8s.io/kubernetes/cmd/kube-apiserver"\n' > tools.go
go mod tidy >&2
minor=${version#1.}
minor=${minor%%.*}
# Without the version stamp it reports v0.0.0-master, which clients fail to parse.
ldflags="-X k8s.io/component-base/version.gitVersion=v$version"
ldflags+=" -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=$minor"
mkdir -p "$cache"
echo "building kube-apiserver v$version (minutes on a cold cache)" >&2
go build -ldflags "$ldflags" -o "$bin.tmp" k8s.io/kubernetes/cmd/kube-apiserver
mv "$bin.tmp" "$bin"
echo "$bin"
