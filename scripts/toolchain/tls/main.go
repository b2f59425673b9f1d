// pulumi-resource-tls for the @pulumi/tls SDK: the Terraform tls provider (../upstream, with
// _shim exposing its internal provider) served through the Pulumi Terraform bridge. Used when
// pulumi-tls's own provider module is not on the Go module proxy.
package main

import (
	"context"
	"encoding/json"
	"io"

	"github.com/hashicorp/terraform-provider-tls/shim"
	pf "github.com/pulumi/pulumi-terraform-bridge/v3/pkg/pf/tfbridge"
	"github.com/pulumi/pulumi-terraform-bridge/v3/pkg/tfbridge"
	"github.com/pulumi/pulumi-terraform-bridge/v3/pkg/tfbridge/tokens"
	"github.com/pulumi/pulumi-terraform-bridge/v3/pkg/tfgen"
	"github.com/pulumi/pulumi/sdk/v3/go/common/diag"
	"github.com/pulumi/pulumi/sdk/v3/go/common/diag/colors"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource/plugin"
)

// Set with -ldflags "-X main.version=..." to the version of the npm package.
var version = "0.0.0"

func main() {
	ctx := context.Background()
	info := tfbridge.ProviderInfo{
		Name:    "tls",
		P:       pf.ShimProvider(shim.NewProvider()),
		Version: version,
		// Names kept from earlier releases; a provider built afresh has none.
		MetadataInfo: tfbridge.NewProviderMetadata([]byte("{}")),
	}
	// tls_private_key -> tls:index/privateKey:PrivateKey, as the SDK expects.
	info.MustComputeTokens(tokens.SingleModule("tls_", "index", tokens.MakeStandard("tls")))
	// The package schema, generated from the provider on request (GetSchema) instead of embedded.
	schema := func(context.Context, plugin.GetSchemaRequest) ([]byte, error) {
		spec, err := tfgen.GenerateSchema(info, diag.DefaultSink(io.Discard, io.Discard, diag.FormatOptions{Color: colors.Never}))
		if err != nil {
			return nil, err
		}
		return json.Marshal(spec)
	}
	pf.Main(ctx, "tls", info, pf.ProviderMetadata{XGetSchema: schema})
}
