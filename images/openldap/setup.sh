# Runs inside the image root after the packages are installed: drop the database and cn=config
# Debian's postinst made (the provider's slapd.conf and its volume replace them), keep the
# directories slapd runs in.
rm -rf /etc/ldap/slapd.d /var/lib/ldap/* /var/backups/*.ldapdb
mkdir -p /run/slapd /var/lib/ldap /etc/psf/ldap
chown openldap:openldap /run/slapd /var/lib/ldap
