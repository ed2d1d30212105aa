#!/bin/bash
# LocalStack runs this once S3 is ready (mounted at /etc/localstack/init/ready.d).
set -euo pipefail
for b in archtics-test archtics-warehouse; do
  awslocal s3 mb "s3://$b" || awslocal s3api head-bucket --bucket "$b"
done
