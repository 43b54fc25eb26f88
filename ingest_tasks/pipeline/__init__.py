"""One pipeline for every lane: sources -> parse -> chunk -> embed -> commit.

sources/s3/roots/docids read and name documents (files, S3 objects), metadata checks a
caller's metadata, parse/ turns bytes into text, chunk cuts it in the model's tokens,
embed/ holds the models, commit writes a group as a check-and-set against the registry,
documents runs the whole path for a group.

May import: core, state, store.
"""
