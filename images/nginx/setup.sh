# Runs inside the image root after the packages are installed.
useradd --system --no-create-home --shell /usr/sbin/nologin nginx
rm -f /etc/nginx/sites-enabled/default
mkdir -p /etc/nginx/psf/certs /var/www/acme
