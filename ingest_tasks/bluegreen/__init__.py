"""Blue-green re-embedding: a build copies the live index into a new model's collection
(reembed, copying), checks gate it (checks), and the swap moves the alias in one step
(swap); rollback is the same step back.

May import: core, state, store, pipeline.
"""
