# Runs inside the image root after the packages are installed: drop the packaged data directory
# (the entrypoint makes its own in /var/lib/mysql) and listen beyond loopback, as the official
# image does.
rm -rf /var/lib/mysql/* /var/log/mysql/*
sed -i 's/^bind-address/#&/' /etc/mysql/mariadb.conf.d/50-server.cnf
mkdir -p /run/mysqld && chown mysql:mysql /run/mysqld /var/lib/mysql
