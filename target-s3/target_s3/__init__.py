"""target-s3: a Singer target writing the IGDB raw layer to S3 or a local directory."""
