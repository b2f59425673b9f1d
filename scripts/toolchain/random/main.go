// pulumi-resource-random for the @pulumi/random SDK: the Terraform random provider (../upstream,
// with _shim exposing its internal provider) served through the Pulumi Terraform bridge. Used
// when pulumi-random's own provider module is not on the Go module proxy.
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"

	pf "github.com/pulumi/pulumi-terraform-bridge/v3/pkg/pf/tfbridge"
	"github.com/pulumi/pulumi-terraform-bridge/v3/pkg/tfbridge"
	"github.com/pulumi/pulumi-terraform-bridge/v3/pkg/tfbridge/tokens"
	"github.com/pulumi/pulumi-terraform-bridge/v3/pkg/tfgen"
	"github.com/pulumi/pulumi/sdk/v3/go/common/diag"
	"github.com/pulumi/pulumi/sdk/v3/go/common/diag/colors"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource/plugin"
	"github.com/terraform-providers/terraform-provider-random/shim"
)

// Set with -ldflags "-X main.version=..." to the version of the npm package.
var version = "0.0.0"

func main() {
	ctx := context.Background()
	info := tfbridge.ProviderInfo{
		Name:    "random",
		P:       pf.ShimProvider(shim.NewProvider()),
		Version: version,
		// Names kept from earlier releases; a provider built afresh has none.
		MetadataInfo: tfbridge.NewProviderMetadata([]byte("{}")),
		Resources: map[string]*tfbridge.ResourceInfo{
			// As in pulumi-random: a RandomBytes is identified by its value.
			"random_bytes": {ComputeID: func(_ context.Context, s resource.PropertyMap) (resource.ID, error) {
				b := s["base64"]
				if b.IsSecret() {
					b = b.SecretValue().Element
				}
				if !b.IsString() {
					return "", fmt.Errorf("random_bytes: no base64 in state")
				}
				return resource.ID(b.StringValue()), nil
			}},
		},
	}
	// random_password -> random:index/randomPassword:RandomPassword, as the SDK expects.
	info.MustComputeTokens(tokens.SingleModule("", "index", tokens.MakeStandard("random")))
	// The package schema, generated from the provider on request (GetSchema) instead of embedded.
	schema := func(context.Context, plugin.GetSchemaRequest) ([]byte, error) {
		spec, err := tfgen.GenerateSchema(info, diag.DefaultSink(io.Discard, io.Discard, diag.FormatOptions{Color: colors.Never}))
		if err != nil {
			return nil, err
		}
		return json.Marshal(spec)
	}
	pf.Main(ctx, "random", info, pf.ProviderMetadata{XGetSchema: schema})
}
