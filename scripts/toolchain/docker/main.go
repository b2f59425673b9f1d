// pulumi-resource-docker for the @pulumi/docker SDK: the Terraform docker provider (../upstream,
// kreuzwerker's, which pulumi-docker builds from a git submodule; _shim exposes its internal
// provider) served through the Pulumi Terraform bridge. Used when pulumi-docker's own provider
// module is not on the Go module proxy. pulumi-docker's native docker.Image (buildx) is not here.
package main

import (
	"encoding/json"
	"io"

	"github.com/pulumi/pulumi-terraform-bridge/v3/pkg/tfbridge"
	"github.com/pulumi/pulumi-terraform-bridge/v3/pkg/tfbridge/tokens"
	"github.com/pulumi/pulumi-terraform-bridge/v3/pkg/tfgen"
	shimv2 "github.com/pulumi/pulumi-terraform-bridge/v3/pkg/tfshim/sdk-v2"
	"github.com/pulumi/pulumi/sdk/v3/go/common/diag"
	"github.com/pulumi/pulumi/sdk/v3/go/common/diag/colors"
	"github.com/pulumi/pulumi/sdk/v3/go/common/util/cmdutil"
	"github.com/terraform-providers/terraform-provider-docker/shim"
)

// Set with -ldflags "-X main.version=..." to the version of the npm package.
var version = "0.0.0"

func main() {
	info := tfbridge.ProviderInfo{
		Name:    "docker",
		P:       shimv2.NewProvider(shim.NewProvider(version)),
		Version: version,
		// Names kept from earlier releases; a provider built afresh has none.
		MetadataInfo: tfbridge.NewProviderMetadata([]byte("{}")),
		Resources: map[string]*tfbridge.ResourceInfo{
			// An image's name is its reference: never made up.
			"docker_image":  {Tok: "docker:index/remoteImage:RemoteImage", Fields: map[string]*tfbridge.SchemaInfo{"name": {}}},
			"docker_config": {Tok: "docker:index/serviceConfig:ServiceConfig"},
			// Names the @pulumi/docker SDK kept from earlier bridge versions.
			"docker_container": {Fields: map[string]*tfbridge.SchemaInfo{
				"command":           {Name: "command"},
				"networks_advanced": {Name: "networksAdvanced"},
			}},
		},
		DataSources: map[string]*tfbridge.DataSourceInfo{
			"docker_image": {Tok: "docker:index/getRemoteImage:getRemoteImage"},
		},
		Config: map[string]*tfbridge.SchemaInfo{"registry_auth": {Name: "registryAuth"}},
	}
	// docker_container -> docker:index/container:Container, as the SDK expects.
	info.MustComputeTokens(tokens.SingleModule("docker_", "index", tokens.MakeStandard("docker")))
	// As the SDK has it, a resource without a name gets one from its Pulumi name plus a suffix.
	info.SetAutonaming(255, "-")
	// The schema is made from the provider at start (well under a second) instead of embedded.
	spec, err := tfgen.GenerateSchema(info, diag.DefaultSink(io.Discard, io.Discard, diag.FormatOptions{Color: colors.Never}))
	if err != nil {
		cmdutil.ExitError(err.Error())
	}
	schema, err := json.Marshal(spec)
	if err != nil {
		cmdutil.ExitError(err.Error())
	}
	tfbridge.Main("docker", version, info, schema)
}
