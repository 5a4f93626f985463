// The CartflowArchive module; see docs/architecture.md.
