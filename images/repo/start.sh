#!/bin/sh
# HTTPS on 8080 when archive up passed a certificate and key (archive.yaml tls_cert, tls_key)
# in ARCHIVE_TLS_CERT and ARCHIVE_TLS_KEY, else HTTP; then nginx in the foreground, without
# them in its environment. The files go to /tmp (a tmpfs), readable by this user alone.
set -e
if [ -n "$ARCHIVE_TLS_CERT" ] && [ -n "$ARCHIVE_TLS_KEY" ]; then
  umask 077
  mkdir -p /tmp/tls
  printf '%s\n' "$ARCHIVE_TLS_CERT" > /tmp/tls/cert.pem
  printf '%s\n' "$ARCHIVE_TLS_KEY" > /tmp/tls/key.pem
  printf 'listen 8080 ssl;\nssl_certificate /tmp/tls/cert.pem;\nssl_certificate_key /tmp/tls/key.pem;\nssl_protocols TLSv1.2 TLSv1.3;\n' > /tmp/listen.conf
elif [ -n "$ARCHIVE_TLS_CERT" ] || [ -n "$ARCHIVE_TLS_KEY" ]; then
  echo "archive-repo: a certificate without its key, or a key without its certificate" >&2
  exit 1
else
  echo 'listen 8080;' > /tmp/listen.conf
fi
exec env -u ARCHIVE_TLS_CERT -u ARCHIVE_TLS_KEY nginx -g 'daemon off;'
