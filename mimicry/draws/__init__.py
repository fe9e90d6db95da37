"""Draw files: one module per format, the forms programs print, and the ingest into a stream
(docs/design.md, the pipeline's ingest)."""
