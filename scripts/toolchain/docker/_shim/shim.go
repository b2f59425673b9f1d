// Package shim is copied into the Terraform provider's module (upstream/shim) by
// scripts/toolchain.sh: inside that module it may import the internal provider package.
package shim

import (
	"github.com/hashicorp/terraform-plugin-sdk/v2/helper/schema"
	"github.com/terraform-providers/terraform-provider-docker/internal/provider"
)

func NewProvider(version string) *schema.Provider { return provider.New(version)() }
