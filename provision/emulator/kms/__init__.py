"""Cloud KMS v1: key rings, crypto keys and their IAM policies."""
