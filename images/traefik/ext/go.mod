// Stand-in for github.com/traefik/traefik/dynamic/ext (see ../go.mod).
module github.com/traefik/traefik/dynamic/ext

go 1.24.0
