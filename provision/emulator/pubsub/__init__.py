"""Cloud Pub/Sub v1: topics, their IAM policies and the messages published on them."""
