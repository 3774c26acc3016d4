"""Architecture encoders: torch modules mapping an `ArchBatch` to embeddings."""
