#!/bin/sh
# Nightly backup of the lvzhi database (run by lvzhi-backup.timer): a custom-format dump, kept 30 days.
# Restore: pg_restore --clean --if-exists -d lvzhi /var/backups/lvzhi/lvzhi-YYYY-MM-DD.dump
set -eu
dir=/var/backups/lvzhi
mkdir -p "$dir"
pg_dump --format=custom --file="$dir/lvzhi-$(date +%F).dump" lvzhi
find "$dir" -name 'lvzhi-*.dump' -mtime +30 -delete
