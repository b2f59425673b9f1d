// Package shim is copied into the Terraform provider's module (upstream/shim) by
// scripts/toolchain.sh: inside that module it may import the internal provider package.
package shim

import (
	tfpf "github.com/hashicorp/terraform-plugin-framework/provider"
	"github.com/terraform-providers/terraform-provider-random/internal/provider"
)

func NewProvider() tfpf.Provider { return provider.New() }
