"""The HTTP API and status page (`ingest serve`): a thin shell over IngestClient.

Every route calls the client, so versions, routing between the lanes and outcomes are
the client's: the API adds keys with scopes (auth), request size limits (limits), one
JSON shape for every error (errors), and the server-rendered status page (status_page).

May import: interfaces.client and everything below interfaces.
"""
