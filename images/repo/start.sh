#!/bin/sh
# HTTPS on 8080 when a certificate and key are mounted (archive.yaml tls_cert, tls_key; empty
# /dev/null otherwise), else HTTP; then nginx in the foreground.
set -e
if [ -s /etc/archive-tls/cert.pem ] && [ -s /etc/archive-tls/key.pem ]; then
  printf 'listen 8080 ssl;\nssl_certificate /etc/archive-tls/cert.pem;\nssl_certificate_key /etc/archive-tls/key.pem;\nssl_protocols TLSv1.2 TLSv1.3;\n' > /tmp/listen.conf
else
  echo 'listen 8080;' > /tmp/listen.conf
fi
exec nginx -g 'daemon off;'
