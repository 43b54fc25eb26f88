"""Sources kept in sync: a folder or an S3 prefix listed, compared with what was sent
before (the manifest), and its new, changed and vanished documents sent to the lanes.

sources.Source names a source; listing lists one (folder, s3) into Entry records; the
manifest remembers each document's stamp and the version it was sent at; plan compares;
runner runs one sync under the source's lock, checkpointed; watch follows a folder.
"""
