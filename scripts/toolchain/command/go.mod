// Built by scripts/toolchain.sh when pulumi-command's own provider module is not on the Go module proxy.
module psf.local/toolchain/command

go 1.25

require github.com/pulumi/pulumi-go-provider v1.2.0
