// PSF's stand-in for traefik/whoami (see main.go): standard library only.
module psf.local/whoami

go 1.22
