#!/usr/bin/env bash
# Builds the Pulumi CLI, the Python language host and the Kubernetes provider from their Go modules into
# .tools/bin (git-ignored), beside the two Python plugin shims, when they are not built yet for the current
# scripts/pulumi-tools sources. The engine tests (tests/engine) run the real `pulumi` from there.
#
# Versions: the pinned Python SDK is 3.272.0 and pulumi-kubernetes 4.34.2, but the Go module proxy refuses
# (403) github.com/pulumi/pulumi/pkg/v3@v3.272.0, every version of the language host module
# github.com/pulumi/pulumi/sdk/python/cmd/pulumi-language-python/v3 and
# github.com/pulumi/pulumi-kubernetes/provider/v4@v4.34.2. So: the CLI of pkg/v3 v3.274.0 (the nearest served);
# our own language host (scripts/pulumi-tools/cmd/pulumi-language-python) running the Python SDK's program
# runner from sdk/v3 v3.272.0; the provider at the served pseudo-version v4.0.0-20260115033456-f47bc2d6f199.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
src=scripts/pulumi-tools
bin=.tools/bin
cli=v3.274.0
sdk=v3.272.0
k8s=v4.0.0-20260115033456-f47bc2d6f199
# Everything the binaries are built from; a change rebuilds them.
stamp=$(cat "$0" $src/go.mod $src/go.sum $src/cmd/*/*.go $src/kubernetes/go.mod $src/kubernetes/go.sum \
  $src/kubernetes/pulumi-resource-kubernetes/main.go $src/pulumi-*-python | sha256sum | cut -c1-16)
if [ -f .tools/stamp ] && [ "$(cat .tools/stamp)" = "$stamp" ]; then
  cat .tools/versions.txt
  exit 0
fi
command -v go >/dev/null || { echo "build-pulumi-tools: no Go toolchain on PATH (Debian: golang-go; or go.dev/dl)" >&2; exit 1; }
rm -rf .tools && mkdir -p $bin
export GOFLAGS=-mod=readonly
started=$(date +%s)

(cd $src && go mod download)
(cd $src/kubernetes && go mod download)
downloaded=$(date +%s)

# The provider's main package embeds files its `go generate` writes (the schema with its version set, the
# Terraform mapping) and its module zip lacks: write them from the module's sources, as that step does.
k8s_dir=$(cd $src/kubernetes && go list -m -f '{{.Dir}}' github.com/pulumi/pulumi-kubernetes/provider/v4)
"$root/.venv/bin/python" - "$k8s_dir/cmd/pulumi-resource-kubernetes" $src/kubernetes/pulumi-resource-kubernetes \
  "${k8s#v}" <<'PY'
import json, sys
from pathlib import Path
module, target, version = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3]
schema = json.loads((module / "schema.json").read_text())
schema["version"] = version
(target / "schema-embed.json").write_text(json.dumps(schema, separators=(",", ":")))
mapping = json.loads((module / "terraform-mapping.json").read_text())
(target / "terraform-mapping-embed.json").write_text(json.dumps(mapping, separators=(",", ":")))
PY

# Two builds at once: each ends in a single-threaded link, so together they keep both cores busy.
# -trimpath and -s -w: reproducible paths, no symbol tables (a shorter link).
(cd $src && go build -trimpath -o "$root/$bin/" -ldflags "-s -w \
  -X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=$cli -X main.version=${sdk#v}+agent-platform" \
  github.com/pulumi/pulumi/pkg/v3/cmd/pulumi ./cmd/pulumi-language-python) &
cli_build=$!
(cd $src/kubernetes && go build -trimpath -o "$root/$bin/" -ldflags "-s -w \
  -X github.com/pulumi/pulumi-kubernetes/provider/v4/pkg/version.Version=${k8s#v}" ./pulumi-resource-kubernetes) &
k8s_build=$!
wait $cli_build
wait $k8s_build
built=$(date +%s)

# The SDK's program runner, from the module of the pinned SDK version; the shims are ours.
sdk_dir=$(cd $src && go mod download -json github.com/pulumi/pulumi/sdk/v3@$sdk | "$root/.venv/bin/python" -c \
  'import json, sys; print(json.load(sys.stdin)["Dir"])')
install -m 755 "$sdk_dir/python/cmd/pulumi-language-python-exec" $bin/
install -m 755 $src/pulumi-resource-pulumi-python $src/pulumi-analyzer-policy-python $bin/

{
  echo "pulumi $($bin/pulumi version) (github.com/pulumi/pulumi/pkg/v3 $cli; $sdk refused by the proxy)"
  echo "pulumi-language-python ${sdk#v}+agent-platform (scripts/pulumi-tools, sdk/v3 $cli; runner of sdk/v3 $sdk)"
  echo "pulumi-resource-kubernetes ${k8s#v} (github.com/pulumi/pulumi-kubernetes/provider/v4 $k8s; v4.34.2 refused)"
  echo "built $(date -u +%Y-%m-%dT%H:%M:%SZ): modules $((downloaded - started)) s, build $((built - downloaded)) s"
} > .tools/versions.txt
echo "$stamp" > .tools/stamp
cat .tools/versions.txt
