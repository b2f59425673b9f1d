# Runs inside the image root after the packages are installed: drop the packaged cluster
# (the entrypoint makes its own in $PGDATA).
rm -rf /var/lib/postgresql/15/main /etc/postgresql/15/main
