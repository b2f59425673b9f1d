// psf-probe: the HTTP health probe the Docker target copies into containers, so that
// `healthcheck: {http: ...}` works in images with no shell, curl or wget (FROM scratch).
module psf.local/probe

go 1.21
