// The CartflowYAML module; see docs/architecture.md.
