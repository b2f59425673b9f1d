// Built by scripts/toolchain.sh when pulumi-tls's own provider module is not on the Go module proxy.
module psf.local/toolchain/tls

go 1.25

require (
	github.com/pulumi/pulumi-terraform-bridge/v3 v3.137.0
	github.com/hashicorp/terraform-provider-tls v0.0.0
)

// ./upstream: the Terraform provider named in ./upstream.txt, copied from the module proxy with
// _shim added as its shim package (the provider lives in an internal package).
replace github.com/hashicorp/terraform-provider-tls => ./upstream

// The bridge builds on Pulumi's fork of the Terraform plugin SDK, as the bridge's own go.mod says.
replace github.com/hashicorp/terraform-plugin-sdk/v2 => github.com/pulumi/terraform-plugin-sdk/v2 v2.0.0-20260318212141-5525259d096b
