// Command pulumi-resource-kubernetes serves the Kubernetes provider of the required pulumi-kubernetes module.
//
// The module's own main package embeds schema-embed.json and terraform-mapping-embed.json, files its
// `go generate` step writes and its module zip does not carry; scripts/build-pulumi-tools.sh writes them
// here from the module's schema.json and terraform-mapping.json, so this package is that main package.
package main

import (
	_ "embed"

	"github.com/pulumi/pulumi-kubernetes/provider/v4/pkg/provider"
	"github.com/pulumi/pulumi-kubernetes/provider/v4/pkg/version"
)

//go:embed schema-embed.json
var pulumiSchema []byte

//go:embed terraform-mapping-embed.json
var terraformMapping []byte

func main() {
	provider.Serve("kubernetes", version.Version, pulumiSchema, terraformMapping)
}
